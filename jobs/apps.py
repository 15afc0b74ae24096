from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import selfcheck  # noqa: F401 - registers the jobs.selfcheck kind
