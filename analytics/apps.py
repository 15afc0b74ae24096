from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The rollups follow every store of events; behavior announces them and does not import analytics.
        from behavior.hooks import on_events_stored

        from .services import rollups_refresh_on_events_stored

        on_events_stored(rollups_refresh_on_events_stored)
