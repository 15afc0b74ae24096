from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo set-up (``manage.py demo_setup``): it sits above the other apps and only calls their
    services and selectors; no other app imports it."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
