"""GraphQL for privacy: exportCustomer (privacy.export_customer) and eraseCustomer (privacy.erase_customer)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.permissions import staff_with_perm

from .error_codes import PrivacyError, PrivacyErrorCode
from .selectors import customer_export
from .services import customer_erase

ErrorCodeEnum = strawberry.enum(PrivacyErrorCode, name="PrivacyErrorCode")


@strawberry.type(name="Erasure", description="What an erasure removed; the customer is named by a keyed hash only.")
class ErasureType:
    subject: str
    erased_at: datetime
    times: int
    events: int
    memberships: int
    artifacts: int = strawberry.field(description="Recommender model files rewritten without the customer.")
    admin_log_entries: int


@strawberry.type(name="PrivacyError")
class PrivacyPayloadError:
    field: str | None
    code: ErrorCodeEnum
    message: str


@strawberry.type(name="EraseCustomerPayload")
class EraseCustomerPayload:
    erasure: ErasureType | None = None
    errors: list[PrivacyPayloadError] = dataclasses.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Everything held about one customer, as JSON (null: unknown id). Needs "
                                  "privacy.export_customer.", extensions=staff_with_perm("privacy.export_customer"))
    def export_customer(self, external_id: str) -> JSON | None:
        return customer_export(external_id=external_id)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Erase a customer: events, memberships, rollups, model files, admin log "
                                     "(docs/security.md). Idempotent. Needs privacy.erase_customer.",
                         extensions=staff_with_perm("privacy.erase_customer"))
    def erase_customer(self, external_id: str) -> EraseCustomerPayload:
        try:
            erasure = customer_erase(external_id=external_id)
        except PrivacyError as exc:
            return EraseCustomerPayload(errors=[PrivacyPayloadError(field=exc.field, code=exc.code,  # type: ignore[arg-type]
                                                                    message=exc.message)])
        fields = {f.name: getattr(erasure, f.name) for f in dataclasses.fields(ErasureType)}
        return EraseCustomerPayload(erasure=ErasureType(**fields))
