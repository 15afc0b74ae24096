"""Erasing a customer: their rows, the rollups built on them, the model files that embed them, the admin
log entries about them; recorded without personal data and idempotent."""

from __future__ import annotations

import logging

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from analytics.services import rollups_refresh
from batching import chunks
from behavior.models import Customer, Event
from behavior.selectors import customer_by_external_id
from behavior.services import customer_erase as behavior_customer_erase
from recommender.services import customer_forget
from segments.models import SegmentMembership
from segments.services import customer_memberships_delete

from .error_codes import PrivacyError, PrivacyErrorCode
from .models import Erasure

logger = logging.getLogger(__name__)


def subject_hash(external_id: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a customer id: the same id always gives the same value,
    and without the key no one can tell which id it was."""
    return salted_hmac("privacy.erasure", external_id, algorithm="sha256").hexdigest()


def _admin_log_delete(model: type, ids: list[int]) -> int:
    content_type = ContentType.objects.get_for_model(model)
    deleted = 0
    for part in chunks([str(pk) for pk in ids], 1000):
        deleted += LogEntry.objects.filter(content_type=content_type, object_id__in=part).delete()[0]
    return deleted


def customer_erase(*, external_id: str) -> Erasure:
    """Erase one customer everywhere the service keeps them; NOT_FOUND when the id is unknown and was never
    erased. Again for an id already erased: nothing to do, the same record back.

    The model files are rewritten first, then the rows go in one transaction: a failure at any step leaves
    the customer in the database, so running it again finishes the work.
    """
    subject = subject_hash(external_id)
    customer = customer_by_external_id(external_id)
    if customer is None:
        done = Erasure.objects.filter(subject=subject).first()
        if done is None:
            raise PrivacyError(PrivacyErrorCode.NOT_FOUND, "No such customer.", field="externalId")
        return done
    artifacts = customer_forget(customer_id=customer.pk)
    with transaction.atomic():
        membership_ids = customer_memberships_delete(customer_id=customer.pk)
        erased = behavior_customer_erase(customer_id=customer.pk)
        log_entries = (_admin_log_delete(Customer, [customer.pk]) + _admin_log_delete(Event, erased.event_ids)
                       + _admin_log_delete(SegmentMembership, membership_ids))
        if erased.start is not None:
            rollups_refresh(start=erased.start, end=erased.end, product_ids=erased.product_ids)
        counts = {"events": erased.events, "memberships": len(membership_ids), "artifacts": artifacts,
                  "admin_log_entries": log_entries}
        erasure = Erasure.objects.select_for_update().filter(subject=subject).first()
        if erasure is None:
            erasure = Erasure.objects.create(subject=subject, erased_at=timezone.now(), **counts)
        else:
            for name, value in counts.items():
                setattr(erasure, name, getattr(erasure, name) + value)
            erasure.times += 1
            erasure.erased_at = timezone.now()
            erasure.save()
    logger.info("privacy: erased subject %s", subject[:12])  # never the id itself
    return erasure
