"""Timer trigger: remove expired sessions and tokens (TTL does the same in Azure, not locally)."""

import logging

import azure.functions as func

from shared.composition import maintenance

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.maintenance")


@blueprint.function_name("purge_expired_sessions")
@blueprint.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def purge_expired_sessions(timer: func.TimerRequest) -> None:
    removed = maintenance.purge_expired()
    log.info("purged %d expired sessions and tokens", removed)
