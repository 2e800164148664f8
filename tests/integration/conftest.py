"""Fixtures that several integration modules share."""

from collections.abc import Iterator

import pytest

from devtools.emulators import Emulators
from shared.config import Settings
from tests import helpers


@pytest.fixture
def defender_gate(stack: Emulators) -> Iterator[Settings]:
    """The malware gate waits for Defender's result; a re-queued event comes back at once."""
    with helpers.changed_settings(malware_gate="defender", malware_recheck_seconds=0) as settings:
        yield settings
