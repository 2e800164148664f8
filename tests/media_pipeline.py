"""The media pipeline in the test process: blob events, the real worker and its results."""

from media_pipelines import worker
from tests import helpers

OPTIONS = worker.WorkerOptions(visibility_seconds=60, retry_seconds=0)
TRIGGERS = helpers.Triggers({"blob_created", "media_result"}, watch=("uploads",))


def settle() -> None:
    """Run events, the worker and the results until nothing is left to do."""
    for _ in range(30):
        events = TRIGGERS.runner.run_once().did_work
        encoded = worker.poll_once(OPTIONS)
        if not events and not encoded:
            return
    raise AssertionError("the pipeline kept finding work")
