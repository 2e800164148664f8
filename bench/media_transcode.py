"""media_transcode: the worker's pipeline on a 60 s 1080p30 clip against bare ffmpeg.

A generated clip (testsrc2 + a sine tone, encoded once as the source) goes through, in the
same run and on the same machine:
- bare ffmpeg: exactly the argument list `media_pipelines.encode.ladder_command` builds for
  it, writing to a temp folder;
- ours: the source uploaded to Azurite, then `run_job` end to end (ranged download, probe, the
  same ffmpeg command, poster, every upload), the `default` ladder and the configured preset
  (veryfast unless WEBCAST_MEDIA_X264_PRESET says otherwise).
Rows: wall time ours/bare (goal <= 1.05), CPU time ours/bare (ffmpeg and every other child
process, plus this process's own work in `run_job`: steadier than wall time when the host
is noisy), the realtime factor (clip seconds per wall second) of each, and the time ours
spends outside the ladder encode. BENCH_MEDIA_ROUNDS (default 1: an encode takes minutes on
two cores) pairs of runs alternate which goes first; ratios are then the median of the
per-round ratios.
"""

import logging
import os
import resource
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import Result, Row, Stopwatch, median, paired_ratio, seed_owner_and_webcast, stack

SECONDS = int(os.environ.get("BENCH_MEDIA_SECONDS", "60"))
ROUNDS = int(os.environ.get("BENCH_MEDIA_ROUNDS", "1"))
GOAL = 1.05


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class _Measured:
    """Wall and CPU seconds (children, and optionally this process) of a block."""

    def __init__(self, *, own: bool) -> None:
        self.own = own
        self.wall = self.cpu = 0.0

    def __enter__(self) -> "_Measured":
        self._wall = time.perf_counter()
        self._cpu = self._used()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = self._used() - self._cpu

    def _used(self) -> float:
        used = _cpu_seconds(resource.RUSAGE_CHILDREN)
        return used + _cpu_seconds(resource.RUSAGE_SELF) if self.own else used


def _source(path: Path, ffmpeg: str) -> None:
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    command += ["-t", str(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]
    command += ["-pix_fmt", "yuv420p", "-g", "60", "-c:a", "aac", "-b:a", "160k", str(path)]
    subprocess.run(command, check=True)


def _bare(source: Path, folder: Path, number: int) -> tuple[_Measured, list[str]]:
    """Bare ffmpeg with the worker's own argument list for this source."""
    from media_pipelines.encode import ladder_command
    from media_pipelines.ladder import load_ladder, plan_rungs
    from media_pipelines.probe import probe
    from media_pipelines.tools import find_tools
    from shared.config import get_settings

    tools = find_tools()
    info = probe(source, tools=tools)
    assert info.video is not None
    ladder = load_ladder("default")
    width, height = info.video.display_size
    output = folder / f"bare{number}"
    output.mkdir()
    command = ladder_command(
        ffmpeg=tools.ffmpeg,
        source=source,
        output_dir=output,
        video=info.video,
        audio=info.audio,
        ladder=ladder,
        rungs=plan_rungs(ladder, source_width=width, source_height=height),
        preset=get_settings().media_x264_preset,
    )
    with _Measured(own=False) as measured:
        subprocess.run(command, check=True)
    return measured, command


def _ours(source: Path) -> tuple[_Measured, Any, dict[str, float]]:
    """The source uploaded to Azurite, then the whole job as the worker runs it."""
    from media_pipelines.transcode import Phases, run_job
    from shared.clients import blob_container_name, blob_service
    from shared.media.models import UPLOADS, TranscodeJob, media_prefix, source_blob_name

    # A real webcast: the worker ends the job of one that is gone (decision 0048).
    principal, _, created = seed_owner_and_webcast(
        {"title": "Bench media", "slug": f"bench-{uuid.uuid4().hex[:10]}"}
    )
    tenant, webcast, asset = principal.tenant_id, created.id, uuid.uuid4().hex[:12]
    name = source_blob_name(tenant_id=tenant, webcast_id=webcast, asset_id=asset)
    with source.open("rb") as handle:
        blob_service().get_blob_client(blob_container_name(UPLOADS), name).upload_blob(
            handle, overwrite=True
        )
    job = TranscodeJob(
        tenant_id=tenant,
        webcast_id=webcast,
        asset_id=asset,
        source_container=UPLOADS,
        source_blob=name,
        output_prefix=media_prefix(tenant_id=tenant, webcast_id=webcast, asset_id=asset),
        ladder="default",
    )
    phases = Phases()
    with _Measured(own=True) as measured:
        result = run_job(job, attempt=1, phases=phases)
    return measured, result, phases.seconds


def run() -> Result:
    from media_pipelines.tools import find_tools
    from shared.config import get_settings

    logging.getLogger("webcast.media").setLevel(logging.WARNING)
    watch = Stopwatch()
    problems: list[str] = []
    bare: list[_Measured] = []
    ours: list[_Measured] = []
    phases: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-media-") as name, stack("media"):
        folder = Path(name)
        source = folder / "source.mp4"
        print(f"   generating a {SECONDS} s 1080p30 source ...", flush=True)
        _source(source, find_tools().ffmpeg)
        preset = get_settings().media_x264_preset
        for number in range(ROUNDS):
            for which in ("bare", "ours") if number % 2 == 0 else ("ours", "bare"):
                print(f"   round {number + 1}: {which}, preset {preset} ...", flush=True)
                if which == "bare":
                    measured, command = _bare(source, folder, number)
                    bare.append(measured)
                else:
                    measured, result, spent = _ours(source)
                    ours.append(measured)
                    phases.append(spent)
                    if result.outcome != "ready" or len(result.renditions) != 4:
                        problems.append(
                            f"the job ended {result.outcome} with {len(result.renditions)} rungs"
                        )
        source_mib = source.stat().st_size / 2**20
    outside = [
        sum(seconds for step, seconds in spent.items() if step != "encode") for spent in phases
    ]
    rows = [
        Row(
            f"{SECONDS} s 1080p30 -> 4-rung HLS, wall time",
            "s",
            median([m.wall for m in ours]),
            median([m.wall for m in bare]),
            "bare ffmpeg, identical arguments",
            f"goal <= {GOAL}x; preset {preset}",
            paired_ratio([m.wall for m in ours], [m.wall for m in bare]),
        ),
        Row(
            "  same, CPU time",
            "s CPU",
            median([m.cpu for m in ours]),
            median([m.cpu for m in bare]),
            "bare ffmpeg, identical arguments",
            "all child processes (+ the job's own Python work)",
            paired_ratio([m.cpu for m in ours], [m.cpu for m in bare]),
        ),
        Row(
            "  ours outside the ladder encode",
            "s",
            median(outside),
            median([m.wall for m in bare]),
            "bare ffmpeg wall time",
            "download, probe, poster, uploads",
        ),
        Row("realtime factor, ours", "x realtime", SECONDS / median([m.wall for m in ours])),
        Row("realtime factor, bare ffmpeg", "x realtime", SECONDS / median([m.wall for m in bare])),
    ]
    details = {
        "clip_seconds": SECONDS,
        "rounds": ROUNDS,
        "source_mib": round(source_mib, 1),
        "preset": preset,
        "bare": [{"wall": round(m.wall, 3), "cpu": round(m.cpu, 3)} for m in bare],
        "ours": [{"wall": round(m.wall, 3), "cpu": round(m.cpu, 3)} for m in ours],
        "ours_phases_seconds": [
            {step: round(seconds, 3) for step, seconds in spent.items()} for spent in phases
        ],
        "renditions": [r.model_dump() for r in result.renditions],
        "ffmpeg_arguments": command[1:],
    }
    return Result("media_transcode", rows, details, watch.seconds, problems)
