"""The next audience: an ended campaign's uplift model, and the top share of a new audience by it.

``uplift_fit`` fits ``engine.two_model_uplift`` on the ended campaign's members (RFM and segment as
features, conversion in the window as the outcome), records its held-out Qini against random order
and plain response probability, and keeps the learner (pickled with joblib in Django's default
storage, like the recommender's artifacts). ``top_by_uplift`` scores a new audience with it.
"""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from . import engine
from .error_codes import CampaignError, CampaignErrorCode
from .models import Campaign, CampaignStatus, Group
from .selectors import member_features, member_outcomes

NUMERIC_FEATURES = ["recency", "frequency", "monetary", "r_score", "f_score", "m_score"]


def feature_matrix(frame: pd.DataFrame, segments: list[str]) -> np.ndarray:
    """The numeric RFM columns, then one 0/1 column per segment label the model knows."""
    numeric = frame[NUMERIC_FEATURES].to_numpy(dtype=np.float64)
    labels = frame["segment"].astype(str).to_numpy()
    one_hot = np.stack([labels == label for label in segments], axis=1).astype(np.float64) if segments \
        else np.zeros((len(frame), 0))
    return np.hstack([numeric, one_hot])


def uplift_fit(*, campaign_id: int) -> Campaign:
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "no such campaign", "id")
    if campaign.status != CampaignStatus.ENDED:
        raise CampaignError(CampaignErrorCode.NOT_ENDED, "the uplift model is fitted on an ended campaign", "id")
    features = member_features(campaign=campaign)
    outcomes = member_outcomes(campaign=campaign).set_index("member_id")
    converted = outcomes["orders"].reindex(features["member_id"]).fillna(0).to_numpy() > 0
    treated = (features["group"] == Group.TREATMENT.value).to_numpy()
    segments = sorted(features["segment"].astype(str).unique().tolist())
    try:
        learner, evaluation = engine.two_model_uplift(feature_matrix(features, segments), treated,
                                                      converted.astype(np.int64), seed=int(campaign.seed))
    except ValueError as exc:
        raise CampaignError(CampaignErrorCode.TOO_FEW_MEMBERS, str(exc)) from exc
    buffer = io.BytesIO()
    joblib.dump({"learner": learner, "segments": segments}, buffer)
    path = default_storage.save(f"campaigns/uplift-{campaign.pk}.joblib", ContentFile(buffer.getvalue()))
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(uplift={
            "artifact": path, "qini": evaluation.qini, "qini_random": evaluation.qini_random,
            "qini_response": evaluation.qini_response, "train_members": evaluation.train_members,
            "test_members": evaluation.test_members, "features": NUMERIC_FEATURES + [f"segment:{s}" for s in segments],
        })
    campaign.refresh_from_db()
    return campaign


def _load(source: Campaign) -> dict:
    path = source.uplift.get("artifact")
    if not path:
        raise CampaignError(CampaignErrorCode.NO_UPLIFT_MODEL, "that campaign has no uplift model", "uplift_source_id")
    with default_storage.open(path, "rb") as fh:
        return joblib.load(io.BytesIO(fh.read()))


def top_by_uplift(*, source_id: int, members: pd.DataFrame, share: float) -> pd.DataFrame:
    """The ``share`` of ``members`` (an audience frame) with the highest predicted uplift (at least one)."""
    source = Campaign.objects.get(pk=source_id)
    saved = _load(source)
    uplift = saved["learner"].predict(feature_matrix(members, saved["segments"]))
    keep = max(1, int(round(share * len(members))))
    chosen = np.sort(np.argsort(-uplift, kind="stable")[:keep])
    return members.iloc[chosen]
