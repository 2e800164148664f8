"""The controller of a webcast as its participant pages name it (the customer account's
profile, issue 16): reached by the webcast, so it spans webcasts and accounts."""

from shared.accounts.models import PublicController
from shared.accounts.service import public_controller
from shared.errors import not_found
from shared.webcasts.service import viewer_webcast


def controller_of_webcast(webcast_id: str) -> PublicController:
    """How a participant of the webcast reaches its controller; 404 before the customer
    named one (the page then shows the webcast's imprint block)."""
    webcast = viewer_webcast(webcast_id)
    found = public_controller(webcast.tenant_id)
    if found is None:
        raise not_found("Controller profile")
    return found
