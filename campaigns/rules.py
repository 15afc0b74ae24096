"""The rules that narrow a campaign's audience (stored as the campaign's ``rules`` JSON).

Pure Python: parsed and checked here, applied by ``selectors.audience``. Days are counted back from
the campaign's ``startsAt``; the RFM score is the sum of the member's R, F and M quintile scores (3-15)
in the campaign's segmentation run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from .error_codes import CampaignError, CampaignErrorCode

RFM_LOW, RFM_HIGH = 3, 15
MAX_DAYS = 3650


@dataclass(frozen=True)
class AudienceRules:
    countries: tuple[str, ...] = ()
    last_purchase_more_than_days: int | None = None  # nothing bought in the last N days before the start
    last_purchase_fewer_than_days: int | None = None  # something bought in the last N days before the start
    bought_category_id: int | None = None  # bought in this category (or below it) before the start
    never_bought_category_id: int | None = None  # never bought in this category (or below it) before the start
    rfm_score_min: int | None = None
    rfm_score_max: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {key: (list(value) if isinstance(value, tuple) else value)
                for key, value in asdict(self).items() if value not in (None, ())}

    @property
    def category_ids(self) -> list[int]:
        return [c for c in (self.bought_category_id, self.never_bought_category_id) if c is not None]


def _int_in(name: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CampaignError(CampaignErrorCode.INVALID, f"{name} must be an integer from {low} to {high}",
                            field=f"rules.{name}")
    return value


def rules_parse(raw: dict[str, Any] | None) -> AudienceRules:
    """The rules from their JSON form (snake_case keys); CampaignError(INVALID) naming the bad one."""
    raw = dict(raw or {})
    known = {f.name for f in fields(AudienceRules)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise CampaignError(CampaignErrorCode.INVALID, f"unknown rule '{unknown[0]}'", field=f"rules.{unknown[0]}")
    countries = raw.get("countries") or ()
    if isinstance(countries, str) or not all(isinstance(c, str) and c.strip() for c in countries):
        raise CampaignError(CampaignErrorCode.INVALID, "countries must be a list of names", field="rules.countries")
    rules = AudienceRules(
        countries=tuple(sorted({c.strip() for c in countries})),
        last_purchase_more_than_days=_int_in("last_purchase_more_than_days",
                                             raw.get("last_purchase_more_than_days"), 0, MAX_DAYS),
        last_purchase_fewer_than_days=_int_in("last_purchase_fewer_than_days",
                                              raw.get("last_purchase_fewer_than_days"), 1, MAX_DAYS),
        bought_category_id=_int_in("bought_category_id", raw.get("bought_category_id"), 1, 2**62),
        never_bought_category_id=_int_in("never_bought_category_id", raw.get("never_bought_category_id"), 1, 2**62),
        rfm_score_min=_int_in("rfm_score_min", raw.get("rfm_score_min"), RFM_LOW, RFM_HIGH),
        rfm_score_max=_int_in("rfm_score_max", raw.get("rfm_score_max"), RFM_LOW, RFM_HIGH),
    )
    if rules.rfm_score_min is not None and rules.rfm_score_max is not None \
            and rules.rfm_score_min > rules.rfm_score_max:
        raise CampaignError(CampaignErrorCode.INVALID, "rfm_score_min must not exceed rfm_score_max",
                            field="rules.rfm_score_min")
    return rules
