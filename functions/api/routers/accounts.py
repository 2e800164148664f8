"""Sub-accounts (owner only): create, edit, disable, delete, reset MFA."""

from fastapi import APIRouter

from functions.api import problems
from functions.api.deps import Context, CurrentPrincipal
from functions.api.routing import DeferredAPIRoute
from shared.accounts import service
from shared.accounts.models import AccountView, SubAccountCreate, SubAccountUpdate

router = APIRouter(prefix="/api/accounts", tags=["accounts"], route_class=DeferredAPIRoute)


@router.get("")
def list_accounts(principal: CurrentPrincipal) -> list[AccountView]:
    return [AccountView.of(a) for a in service.list_accounts(principal=principal)]


@router.post("", status_code=201, responses=problems.responses(409))
def create_account(
    body: SubAccountCreate, principal: CurrentPrincipal, context: Context
) -> AccountView:
    return AccountView.of(
        service.create_subaccount(principal=principal, data=body, context=context)
    )


@router.get("/{account_id}")
def get_account(account_id: str, principal: CurrentPrincipal) -> AccountView:
    return AccountView.of(service.read_account(principal=principal, account_id=account_id))


@router.patch("/{account_id}")
def update_account(
    account_id: str, body: SubAccountUpdate, principal: CurrentPrincipal, context: Context
) -> AccountView:
    return AccountView.of(
        service.update_subaccount(
            principal=principal, account_id=account_id, data=body, context=context
        )
    )


@router.delete("/{account_id}", status_code=204)
def delete_account(account_id: str, principal: CurrentPrincipal, context: Context) -> None:
    service.delete_subaccount(principal=principal, account_id=account_id, context=context)


@router.post("/{account_id}/mfa-reset")
def reset_mfa(account_id: str, principal: CurrentPrincipal, context: Context) -> AccountView:
    return AccountView.of(
        service.reset_mfa(principal=principal, account_id=account_id, context=context)
    )
