from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Goal(models.TextChoices):
    CONVERSION = "CONVERSION"
    REVENUE = "REVENUE"
    ORDERS = "ORDERS"


class PicksFrom(models.TextChoices):
    DISCOVERY = "DISCOVERY"  # never an item the member bought
    NEXT_BASKET = "NEXT_BASKET"  # own purchase history blended in: what they re-buy comes back


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT"
    LAUNCHED = "LAUNCHED"
    ENDED = "ENDED"


class Group(models.TextChoices):
    TREATMENT = "TREATMENT"
    CONTROL = "CONTROL"


MAX_PICKS = 20
MAX_HOLDOUT = 0.5


class Campaign(models.Model):
    """A marketing action on an audience of segments, with a randomised holdout to measure it.

    DRAFT (editable) -> LAUNCHED (members, groups and picks frozen) -> ENDED (uplift model fitted).
    """

    name = models.CharField(max_length=200)
    goal = models.CharField(max_length=12, choices=Goal.choices, default=Goal.CONVERSION)
    run = models.ForeignKey("segments.SegmentationRun", on_delete=models.PROTECT, related_name="+")
    segments = models.ManyToManyField("segments.Segment", related_name="campaigns")
    # Narrowing rules (see campaigns.rules.AudienceRules): country, last purchase, category, RFM range.
    rules = models.JSONField(default=dict, blank=True)
    picks = models.PositiveSmallIntegerField(default=3)
    picks_from = models.CharField(max_length=12, choices=PicksFrom.choices, default=PicksFrom.DISCOVERY)
    category = models.ForeignKey("catalog.Category", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    offer = models.CharField(max_length=200, blank=True, default="")
    holdout_share = models.FloatField(default=0.1)
    seed = models.BigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Optional: only the top share of the audience by the uplift model of an ended campaign.
    uplift_source = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uplift_top_share = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=9, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    launch_job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    launched_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    model_version_id = models.BigIntegerField(null=True, blank=True, help_text="The recommender version of the picks.")
    members_count = models.PositiveIntegerField(default=0)
    launch_timings = models.JSONField(default=dict, blank=True)
    # campaignResults, as last computed by the worker; a recompute is pending while results_pending is set.
    results = models.JSONField(default=dict, blank=True)
    results_updated_at = models.DateTimeField(null=True, blank=True)
    results_pending = models.BooleanField(default=False)
    uplift = models.JSONField(default=dict, blank=True)  # the uplift model's held-out evaluation, once ended

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("export_campaign", "Can export a campaign's treatment list")]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_share__gte=0) & Q(holdout_share__lte=MAX_HOLDOUT),
                                   name="campaign_holdout_0_to_half"),
            models.CheckConstraint(condition=Q(picks__lte=MAX_PICKS), name="campaign_picks_at_most_20"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="campaign_ends_after_start"),
            models.CheckConstraint(condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"),
            models.CheckConstraint(condition=Q(uplift_top_share__isnull=True)
                                   | Q(uplift_top_share__gt=0, uplift_top_share__lte=1),
                                   name="campaign_uplift_share_0_to_1"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="campaign_status_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class CampaignMember(models.Model):
    """A customer frozen into a launched campaign, with their group (written in bulk at launch)."""

    # As with segment memberships: a million rows are COPYed at launch, so no database FK constraints
    # (per-row trigger lookups) and no single-column indexes; deletes of customers still cascade (Django's
    # on_delete), so an erased customer leaves every campaign.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members", db_index=False,
                                 db_constraint=False)
    customer = models.ForeignKey("behavior.Customer", on_delete=models.CASCADE, related_name="campaign_members",
                                 db_index=False, db_constraint=False)
    group = models.CharField(max_length=9, choices=Group.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_member_unique_customer"),
            models.CheckConstraint(condition=Q(group__in=Group.values), name="campaign_member_group_valid"),
        ]
        indexes = [models.Index(fields=["campaign", "group", "id"], name="campaign_member_group_idx")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.campaign_id} ({self.group})"


class CampaignPick(models.Model):
    """One of a member's frozen picks: the product, its rank (1 = best) and the recommender's score."""

    member = models.ForeignKey(CampaignMember, on_delete=models.CASCADE, related_name="picks", db_index=False,
                               db_constraint=False)
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+", db_index=False,
                                db_constraint=False)
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()

    class Meta:
        ordering = ["member", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["member", "rank"], name="campaign_pick_unique_rank"),
            models.CheckConstraint(condition=Q(rank__gte=1, rank__lte=MAX_PICKS), name="campaign_pick_rank_range"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.product_id} for member {self.member_id}"
