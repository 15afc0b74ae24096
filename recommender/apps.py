from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Recommender"

    def ready(self):
        from . import jobs  # noqa: F401 - registers the recommender.train job kind
