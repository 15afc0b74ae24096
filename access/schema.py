"""GraphQL for access: `issueCustomerToken`, the storefront's way to let a shopper's browser read their own
recommendations without holding the API key."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from api.errors import ClientError
from api.permissions import is_staff_with_perm

from .error_codes import AccessErrorCode
from .scopes import Scope
from .services import customer_token_issue


@strawberry.type(name="CustomerToken", description="Send as 'Authorization: Bearer <token>' until expiresAt.")
class CustomerTokenType:
    token: str
    expires_at: datetime


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A short-lived token for one customer (needs an API key with "
                                     "recommendations:read, or staff with behavior.view_customer): with it, a "
                                     "browser reads that customer's recommendations and nothing else.")
    def issue_customer_token(self, info: Info, customer_external_id: str) -> CustomerTokenType:
        user = info.context.request.user
        key_may = getattr(user, "is_api_key", False) and user.has_scope(Scope.RECOMMENDATIONS_READ)
        if not (key_may or is_staff_with_perm(user, "behavior.view_customer")):
            raise ClientError(AccessErrorCode.PERMISSION_DENIED, "You need an API key with recommendations:read "
                                                                 "(or staff with behavior.view_customer).")
        token, expires_at = customer_token_issue(customer_external_id=customer_external_id)
        return CustomerTokenType(token=token, expires_at=expires_at)
