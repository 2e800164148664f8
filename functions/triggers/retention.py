"""Timer trigger: the daily retention run (P21, decision 0049): owners' notices, deletions
of expired webcasts and the erasure of participant data past its own retention."""

import logging

import azure.functions as func

from shared.composition import retention

blueprint = func.Blueprint()
log = logging.getLogger("webcast.triggers.retention")


@blueprint.function_name("retention_run")
@blueprint.timer_trigger(arg_name="timer", schedule="0 30 3 * * *", run_on_startup=False)
def retention_run(timer: func.TimerRequest) -> None:
    result = retention.run()
    log.info("retention run: %s", result.model_dump_json())
