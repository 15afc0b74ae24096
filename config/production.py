"""The service refuses to start in production on the development secret key.

With DEBUG off, SECRET_KEY signs sessions, CSRF tokens and password-reset links: the public
development key would let anyone forge them. Called by config/wsgi.py, which every server loads
(runserver, gunicorn), so neither starts; tests and management commands do not go through it.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REFUSAL = ("DEBUG is off and SECRET_KEY is not set (the development key is public): set SECRET_KEY to a "
           "long random value, or DEBUG=true for development. See README, Running in production.")


def refuse_insecure_start() -> None:
    if not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        raise ImproperlyConfigured(REFUSAL)
