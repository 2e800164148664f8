"""Finding ffmpeg and ffprobe, and running them as children that end with the worker.

Order: `Settings.media_ffmpeg` / `media_ffprobe`, then PATH, then the `imageio-ffmpeg`
wheel when it is installed (its static build has no ffprobe; `probe` then reads ffmpeg's
own output instead).
"""

import ctypes
import importlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.config import get_settings

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Tools:
    ffmpeg: str
    ffprobe: str | None


class ToolMissingError(RuntimeError):
    """No usable ffmpeg: a deployment problem, not a problem of the job."""


class ToolFailedError(RuntimeError):
    """ffmpeg or ffprobe ended with an error; `message` is its last lines of output."""

    def __init__(self, tool: str, returncode: int, message: str) -> None:
        super().__init__(f"{tool} exited with {returncode}: {message}")
        self.tool = tool
        self.returncode = returncode
        self.message = message

    @property
    def killed(self) -> bool:
        return self.returncode < 0


def _executable(path: str) -> str | None:
    return path if Path(path).is_file() and os.access(path, os.X_OK) else None


def _from_wheel() -> str | None:
    try:
        wheel = importlib.import_module("imageio_ffmpeg")
    except ImportError:
        return None
    try:
        found: str = wheel.get_ffmpeg_exe()
    except RuntimeError:
        return None
    return found


@lru_cache(maxsize=4)
def _discover(ffmpeg_setting: str | None, ffprobe_setting: str | None) -> Tools:
    if ffmpeg_setting:
        ffmpeg = _executable(ffmpeg_setting)
        if ffmpeg is None:
            raise ToolMissingError(
                f"WEBCAST_MEDIA_FFMPEG={ffmpeg_setting} is not an executable file"
            )
    else:
        ffmpeg = shutil.which("ffmpeg") or _from_wheel()
        if ffmpeg is None:
            raise ToolMissingError(
                "ffmpeg was not found: install it (apt install ffmpeg), set "
                "WEBCAST_MEDIA_FFMPEG, or pip install imageio-ffmpeg"
            )
    if ffprobe_setting:
        ffprobe = _executable(ffprobe_setting)
        if ffprobe is None:
            raise ToolMissingError(
                f"WEBCAST_MEDIA_FFPROBE={ffprobe_setting} is not an executable file"
            )
    else:
        beside = Path(ffmpeg).with_name("ffprobe")
        ffprobe = _executable(str(beside)) or shutil.which("ffprobe")
    return Tools(ffmpeg=ffmpeg, ffprobe=ffprobe)


def find_tools() -> Tools:
    """ffmpeg (required) and ffprobe (optional) as the settings and this machine offer them."""
    settings = get_settings()
    return _discover(settings.media_ffmpeg, settings.media_ffprobe)


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook that has Linux end the child when the worker dies (a worker killed
    mid-job must not leave an ffmpeg running); libc is loaded here, not in the child."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


_PRE_EXEC = _die_with_parent_hook()


def last_lines(text: str, *, count: int = 3, hide: Sequence[str] = ()) -> str:
    """The last non-empty lines of a tool's output, one line, with local paths removed."""
    lines = []
    for line in text.splitlines():
        for path in hide:
            line = line.replace(path, "")
        if line.strip(": "):
            lines.append(line.strip().lstrip(": "))
    return " / ".join(lines[-count:]) or "no message"


def execute(
    args: Sequence[str], *, timeout: float | None = None
) -> "subprocess.CompletedProcess[str]":
    """Run a tool to its end and return what it printed, whatever its exit code (killed
    after `timeout` seconds, with subprocess.TimeoutExpired)."""
    return subprocess.run(  # noqa: S603 - the arguments are built by this package, never a shell
        list(args),
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        preexec_fn=_PRE_EXEC,
    )


def run(args: Sequence[str], *, hide: Sequence[str] = (), timeout: float | None = None) -> str:
    """Run a tool to its end; its stdout, or ToolFailedError with its last lines of stderr."""
    done = execute(args, timeout=timeout)
    if done.returncode != 0:
        raise ToolFailedError(
            Path(args[0]).name, done.returncode, last_lines(done.stderr, hide=hide)
        )
    return done.stdout
