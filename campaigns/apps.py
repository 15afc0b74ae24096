from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from behavior.hooks import on_events_stored

        from . import jobs  # noqa: F401 - registers the campaigns.launch and campaigns.uplift job kinds
        from .services import results_request_on_events_stored

        # Results follow the events: behavior announces stored events and does not import campaigns.
        on_events_stored(results_request_on_events_stored)
