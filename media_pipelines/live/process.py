"""Children (nginx, ffmpeg) that Linux ends when the ingest process dies."""

import ctypes
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _die_with_parent_hook() -> Callable[[], None] | None:
    # A killed ingest must not leave an nginx holding the RTMP port, or an ffmpeg writing.
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


PRE_EXEC = _die_with_parent_hook()
