"""Erasing everything tied to one participant, through the registered erasers."""

from shared.privacy.registry import COSMOS_CONTAINERS, DataSubject, NotYet, resolve_handler

# Left out when a participant is deleted: the participant's own record (the caller removes
# it last, so that a failed step can be repeated) and the audit log, which keeps its entries
# as the processing log (ids only, P31). Blob containers are left out too: their erasers work
# on a whole webcast (video and import files are not one person's data alone).
_NOT_ERASED_WITH_A_PARTICIPANT = {"participants", "audit"}


def erase_tied_to_participant(*, subject: DataSubject) -> dict[str, int]:
    """Run every Cosmos eraser for the participant (messages, poll answers, viewings, links
    and whatever store registers next); how many items each removed."""
    erased: dict[str, int] = {}
    for spec in COSMOS_CONTAINERS:
        if spec.name in _NOT_ERASED_WITH_A_PARTICIPANT or not spec.personal_data:
            continue
        if spec.eraser is None or isinstance(spec.eraser, NotYet):
            continue
        erased[spec.name] = int(resolve_handler(spec.eraser)(subject=subject) or 0)
    return erased
