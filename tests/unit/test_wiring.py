"""Explicit wiring: every watched blob container has a consumer, every queue a reader or a
stated reason for having none."""

from devtools.runner import TriggerRunner, app_functions
from shared.composition.blob_consumers import BLOB_CONSUMERS
from shared.stores import BLOB_CONTAINERS, QUEUES


def _queue_triggers() -> set[str]:
    """The queues that a queue trigger binding of the registered functions reads."""
    queues = set()
    for function in app_functions():
        trigger = function.get_trigger()
        spec = trigger.get_dict_repr() if trigger is not None else {}
        if spec.get("type") == "queueTrigger":
            queues.add(spec["queueName"])
    return queues


def test_every_container_the_runner_watches_has_a_consumer() -> None:
    watched = set(TriggerRunner(functions=[]).watch_containers)
    assert watched, "the runner watches the consumers' containers by default"
    assert watched - set(BLOB_CONSUMERS) == set(), "events of a watched container are dropped"
    assert set(BLOB_CONSUMERS) - watched == set(), "a consumer the local runner never feeds"
    assert set(BLOB_CONSUMERS) <= {spec.name for spec in BLOB_CONTAINERS}


def test_every_catalogued_queue_has_a_trigger_or_a_stated_reason() -> None:
    triggered = _queue_triggers()
    assert triggered <= {spec.name for spec in QUEUES}, "a trigger reads an uncatalogued queue"
    for spec in QUEUES:
        if spec.name in triggered:
            assert spec.no_trigger_reason is None, f"{spec.name} has a trigger and a reason"
        else:
            assert spec.no_trigger_reason, f"no trigger reads {spec.name} and no reason is given"
