"""Deleting the whole customer account (the owner alone) and reading its receipt, which
needs no session: the deletion ends them all (decision 0050)."""

from typing import Annotated

from fastapi import APIRouter, Header, Response

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal, clear_session_cookie
from functions.api.routing import DeferredAPIRoute
from shared.deletions import accounts
from shared.deletions.models import (
    AccountDeletionRequest,
    AccountDeletionStarted,
    AccountDeletionView,
)

router = APIRouter(tags=["deletions"], route_class=DeferredAPIRoute)


@router.post(
    "/api/account/deletion", status_code=202, responses=problems.responses(404, 409, 422, 429)
)
def request_account_deletion(
    body: AccountDeletionRequest, principal: CurrentPrincipal, context: Context, response: Response
) -> AccountDeletionStarted:
    """Delete the customer account with every webcast, account, grant and session, for
    good: the owner types the account's name back and gives their password. Everyone is
    signed out at once; the receipt token in the answer is shown once and reads the
    deletion's state and receipt afterwards."""
    job, token = accounts.request_deletion(principal=principal, data=body, context=context)
    clear_session_cookie(response)
    return AccountDeletionStarted(**accounts.view(job).model_dump(), receipt_token=token)


@router.get("/api/account-deletions/{tenant_id}")
def get_account_deletion(
    tenant_id: str,
    x_receipt_token: Annotated[str | None, Header(max_length=200)] = None,
) -> AccountDeletionView:
    """The account deletion's state and, once done, its receipt: what each store deleted and
    what it holds of the account after (nothing but the audit log and the deletion records,
    kept until `audit_kept_until`)."""
    return accounts.receipt(tenant_id=tenant_id, receipt_token=x_receipt_token)
