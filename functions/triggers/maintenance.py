"""Timer triggers: remove expired sessions and tokens (TTL does the same in Azure, not
locally), append audit entries parked after a failed append (decision 0043), and purge the
audit logs of deleted customer accounts whose retention has ended (decision 0050)."""

import logging

import azure.functions as func

from shared.audit import operations
from shared.composition import maintenance
from shared.deletions import accounts

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.maintenance")


@blueprint.function_name("purge_expired_sessions")
@blueprint.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False)
def purge_expired_sessions(timer: func.TimerRequest) -> None:
    removed = maintenance.purge_expired()
    log.info("purged %d expired sessions and tokens", removed)


@blueprint.function_name("replay_pending_audit_entries")
@blueprint.timer_trigger(arg_name="timer", schedule="15 */5 * * * *", run_on_startup=False)
def replay_pending_audit_entries(timer: func.TimerRequest) -> None:
    appended = operations.replay_pending()
    if appended:
        log.warning("appended %d audit entries parked after failed appends", appended)


# Hourly, though a log is due once: each run purges a bounded number of documents, and the
# next run goes on with a large log.
@blueprint.function_name("purge_deleted_account_logs")
@blueprint.timer_trigger(arg_name="timer", schedule="0 40 * * * *", run_on_startup=False)
def purge_deleted_account_logs(timer: func.TimerRequest) -> None:
    purged = accounts.purge_expired_logs()
    if purged:
        log.info("purged %d audit and deletion records of deleted customer accounts", purged)
