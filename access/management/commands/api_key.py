"""manage.py api_key create NAME --scope events:write … | revoke PREFIX | list"""

from django.core.management.base import BaseCommand, CommandError

from access.error_codes import AccessError
from access.models import ApiKey
from access.scopes import Scope
from access.services import api_key_create, api_key_revoke


class Command(BaseCommand):
    help = "Create, revoke or list API keys for machine clients (docs/security.md)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key; its full text is printed once.")
        create.add_argument("name")
        create.add_argument("--scope", action="append", default=[], choices=[s.value for s in Scope],
                            help="Repeat for each scope.")
        create.add_argument("--rate-limit", type=int, default=None, help="Requests per minute (default: setting).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix (or its full text).")
        revoke.add_argument("prefix")
        sub.add_parser("list", help="Every key: prefix, name, scopes, last use, revoked.")

    def handle(self, *args, action: str, **options):
        try:
            if action == "create":
                key, full = api_key_create(name=options["name"], scopes=options["scope"],
                                           rate_limit_per_minute=options["rate_limit"])
                self.stderr.write(f"Created key {key.prefix} ({', '.join(key.scopes) or 'no scopes'}). "
                                  "It is shown this once:")
                self.stdout.write(full)
            elif action == "revoke":
                key = api_key_revoke(prefix=options["prefix"])
                self.stdout.write(f"Revoked {key.prefix} ({key.name}) at {key.revoked_at.isoformat()}")
            else:
                for key in ApiKey.objects.all():
                    state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                    self.stdout.write(f"{key.prefix}\t{key.name}\t{','.join(key.scopes)}\tlast used {used}\t{state}")
        except AccessError as exc:
            raise CommandError(f"{exc.code.value}: {exc.message}") from None
