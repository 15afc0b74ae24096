from django.apps import AppConfig


class ForecastingConfig(AppConfig):
    name = "forecasting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import jobs  # noqa: F401 - registers the forecasting.run job kind
