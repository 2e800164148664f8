"""live_latency: a 720p30 push through nginx-rtmp, the ingest and a real player, against bare
ffmpeg; for an encoder with 2 s GOPs and one with x264's default GOP (8.3 s).

Each source (testsrc2 + a sine tone, H.264, encoded once ahead, so that pushing it costs no
encoder time) is pushed in real time (`ffmpeg -re -c copy`):
- ours: nginx-rtmp, the on_publish check through the API, the ingest's ffmpeg with the
  `default` live ladder (720p/540p/360p, 2 s segments), every segment and playlist uploaded
  to Azurite, health reports, the recording staged into `uploads`; and a viewer: hls.js in
  Chromium on the API's own origin (tests/browser.py), the page open before the push, asking
  the live summary until it hands out the master playlist;
- bare: ffmpeg `-listen 1` receiving the same push and running the same argument list (the
  same ladder into a local folder), nothing uploaded; and a bare player: hls.js alone in the
  same browser, handed the local master (served as files by the same server) as soon as it
  and every rung's playlist list a segment.
BENCH_LIVE_ROUNDS rounds (default 2) per source of bare, then ours, each pushing
BENCH_LIVE_SECONDS (default 20). Rows, per source:
- push start to the first playable playlist: ours = the master playlist in Blob (it goes up
  once every rung's playlist is there, each listing an uploaded segment); bare = the master
  and a rung playlist with a segment on local disk. Median of the rounds; ratio ours/bare
  as the median of the per-round ratios.
- push start to the first frame playing in the browser, against bare ffmpeg's first playable
  playlist (goal: within 1.2x), and against the bare player's first frame.
- the player's distance behind the live edge (hls.js `latency`), median of samples taken each
  half second from 4 s after the first frame to the push's end (goal: at most 6 s).
And for all sources: segment end to upload (median, max; goal one segment), a segment's last
frame pushed to its upload, push end to the session stopped in the API.
"""

import contextlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from starlette.staticfiles import StaticFiles

from bench.common import (
    PYTHON,
    ROOT,
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    seed_owner_and_webcast,
    stack,
    stop_server,
)

SECONDS = int(os.environ.get("BENCH_LIVE_SECONDS", "20"))
ROUNDS = int(os.environ.get("BENCH_LIVE_ROUNDS", "2"))
PRESET = os.environ.get("BENCH_LIVE_PRESET")  # default: the ingest's (WEBCAST_MEDIA_X264_PRESET)
SEGMENT_SECONDS = 2.0
# Sources by key frame interval, in frames at 30 fps: 2 s, and x264's default of 250.
GOPS = {"2 s GOP": 60, "8.3 s GOP": 250}
FIRST_FRAME_GOAL = 1.2  # times bare ffmpeg's first playable playlist
BEHIND_EDGE_GOAL = 6.0  # seconds
# hls.js's latency settles once it plays; sampled from this long after the first frame.
LATENCY_SETTLE_SECONDS = 4.0
# Where the harness app serves bare ffmpeg's output to the bare player.
BARE_PATH = "/_bare"


def _free_port() -> int:
    from devtools.emulators import free_port

    return free_port()


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    from devtools.emulators import wait_for_port

    wait_for_port(port, timeout=timeout)


def _listening(port: int, timeout: float = 30.0) -> None:
    """Wait for a listening socket without connecting: `ffmpeg -listen 1` would take a probe
    connection for its one client."""
    wanted = f":{port:04X} "
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as table:
            if any(wanted in line and line.split()[3] == "0A" for line in table):
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port}")


def _source(path: Path, gop_frames: int) -> None:
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
    command += ["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"]
    command += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    command += ["-t", str(SECONDS), "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M"]
    command += ["-g", str(gop_frames), "-keyint_min", str(gop_frames), "-sc_threshold", "0"]
    command += ["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", str(path)]
    subprocess.run(command, check=True)


def _push(source: Path, url: str) -> "subprocess.Popen[bytes]":
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"]
    command += ["-i", str(source), "-c", "copy", "-f", "flv", url]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


def _bare(source: Path, folder: Path, preset: str, player: Any, served: Path) -> dict[str, Any]:
    """Bare ffmpeg listening for the push, with the ingest's own argument list; and bare
    hls.js in the same browser, handed its master playlist (served as files from `served`,
    under BARE_PATH) as soon as it is playable."""
    from media_pipelines.live.ladder import PLAYLIST, ffmpeg_command, live_ladder

    ladder = live_ladder("default")
    port = _free_port()
    output = folder / "bare"
    for rung in ladder.rungs:
        (output / rung.name).mkdir(parents=True)
    command = ffmpeg_command(
        ffmpeg="ffmpeg",
        source=f"rtmp://127.0.0.1:{port}/live/bench",
        output_dir=output,
        ladder=ladder,
        preset=preset,
    )
    at = command.index("-i")
    command[at:at] = ["-listen", "1"]
    # hls.js sorts the levels by bitrate: 0 starts at the lowest, as our master's order does.
    player.open("bare", mode="live", hls_config={"startLevel": 0}, direct=True)
    player.wait_for("s.awaitingMaster")
    receiver = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _listening(port)
    started = time.time()
    pusher = _push(source, f"rtmp://127.0.0.1:{port}/live/bench")
    first: float | None = None
    playlists = [output / rung.name / PLAYLIST for rung in ladder.rungs]
    while first is None and receiver.poll() is None:
        listed = all(p.exists() and ".ts" in p.read_text(encoding="utf-8") for p in playlists)
        if listed and (output / "master.m3u8").exists():
            first = time.time() - started
        time.sleep(0.02)
    first_frame: float | None = None
    if first is not None:
        master = f"{BARE_PATH}/{output.relative_to(served)}/master.m3u8"
        player.run("(h, url) => h.play(url)", master)
        state = player.wait_for("s.firstFrameAt !== null", timeout=60)
        first_frame = state["firstFrameAt"] / 1000 - started
    pusher.wait()
    receiver.wait(timeout=60)
    return {"first_playlist": first, "first_frame": first_frame}


def _warm_up(api_url: str) -> None:
    """A running API is warm: refuse a wrong key a few times before the measured push."""
    from media_pipelines.live.api import IngestApi, RefusedError
    from shared.config import get_settings

    api = IngestApi(base_url=api_url, secret=get_settings().live_ingest_secret.get_secret_value())
    for _ in range(3):
        try:
            api.publish({"name": "warm-up", "app": "live"})
        except RefusedError:
            continue


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _watch(player: Any, started: float, pusher: "subprocess.Popen[bytes]") -> dict[str, Any]:
    """The viewer's first frame (seconds after the push started) and its distance behind the
    live edge, sampled until the push ends."""
    state = player.wait_for("s.firstFrameAt !== null", timeout=60)
    first_frame = state["firstFrameAt"] / 1000 - started
    behind: list[float] = []
    while pusher.poll() is None:
        state = player.state()
        settled = time.time() - state["firstFrameAt"] / 1000 >= LATENCY_SETTLE_SECONDS
        if settled and state["latency"] is not None:
            behind.append(float(state["latency"]))
        time.sleep(0.5)
    # Seconds after the push started: the summary handed out the master, then hls.js's steps.
    steps = {"summary": state["masterAt"]} | state["timeline"]
    return {
        "first_frame": first_frame,
        "player_steps": {name: round(at / 1000 - started, 3) for name, at in steps.items()},
        "behind_edge": behind,
        "errors": state["errors"],
    }


def _ours(source: Path, folder: Path, harness_url: str, chromium: Any) -> dict[str, Any]:
    import uuid

    from media_pipelines.live.ladder import live_ladder
    from shared.live import service
    from shared.live.models import ChannelState, LiveChannelCreate
    from tests.browser import player_page

    principal, context, webcast = seed_owner_and_webcast(
        {"title": "Live latency", "slug": f"live-latency-{uuid.uuid4().hex[:8]}"}
    )
    key = service.create_channel(
        principal=principal, webcast_id=webcast.id, data=LiveChannelCreate(), context=context
    ).stream_key
    rtmp_port = _free_port()
    events = folder / "events.jsonl"
    command = [PYTHON, "-m", "media_pipelines.live", "--rtmp-port", str(rtmp_port)]
    command += ["--api-url", harness_url, "--ladder", "default"]
    command += ["--work-dir", str(folder / "ingest"), "--events-log", str(events)]
    if PRESET:
        command += ["--preset", PRESET]
    log = (folder / "ingest.log").open("wb")
    ingest = subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(rtmp_port)
        _warm_up(harness_url)
        with player_page(chromium, harness_url) as player:
            player.open(webcast.id, mode="live")
            # A waiting-room viewer: entered, asking the live summary before the push starts.
            player.wait_for("s.enteredAt !== null")
            started = time.time()
            pusher = _push(source, f"rtmp://127.0.0.1:{rtmp_port}/live/{key}")
            viewer = _watch(player, started, pusher)
        pusher.wait()
        push_end = time.time()
        stopped_after: float | None = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            channel = service.get_channel(principal=principal, webcast_id=webcast.id)
            if channel.state == ChannelState.stopped:
                stopped_after = time.time() - push_end
                break
            time.sleep(0.05)
    finally:
        stop_server(ingest)
        log.close()
    recorded = _events(events)
    master = [e["uploaded"] for e in recorded if e["kind"] == "master"]
    segments = [e for e in recorded if e["kind"] == "segment"]
    top = live_ladder("default").rungs[0].name
    source_delays = [
        e["uploaded"] - (started + (int(e["name"][4:9]) + 1) * SEGMENT_SECONDS)
        for e in segments
        if e["rung"] == top
    ]
    first_local = [e["completed"] for e in segments if e["rung"] == top]
    publish = next(e for e in recorded if e["kind"] == "publish")
    return {
        "first_playlist": master[0] - started if master else None,
        "first_segment_on_disk": min(first_local) - started if first_local else None,
        "publish_hook": [publish["received"] - started, publish["started"] - started],
        "first_frame": viewer["first_frame"],
        "player_steps": viewer["player_steps"],
        "behind_edge": viewer["behind_edge"],
        "player_errors": viewer["errors"],
        "upload_delays": [e["uploaded"] - e["completed"] for e in segments],
        "source_delays": source_delays[:-1],  # the last segment ends before 2 s of source
        "segments": len(segments),
        "stopped_after_push": stopped_after,
        "ingest_log_tail": (folder / "ingest.log").read_text(errors="replace")[-2000:],
    }


def _paired_row(
    metric: str,
    pairs: list[tuple[float, float]],
    *,
    baseline_name: str,
    note: str,
) -> Row:
    """Medians of ours and of the baseline over the rounds, and the median per-round ratio."""
    return Row(
        metric=metric,
        unit="s",
        ours=median([o for o, _ in pairs]),
        baseline=median([b for _, b in pairs]),
        baseline_name=baseline_name,
        note=note,
        paired_ratio=paired_ratio([o for o, _ in pairs], [b for _, b in pairs]),
    )


def _pairs(
    ours: list[dict[str, Any]], ours_key: str, bare: list[dict[str, Any]], bare_key: str
) -> list[tuple[float, float]]:
    return [
        (o[ours_key], b[bare_key])
        for o, b in zip(ours, bare, strict=True)
        if o[ours_key] is not None and b[bare_key] is not None
    ]


def _first_playlist_row(
    label: str, bare: list[dict[str, Any]], ours: list[dict[str, Any]]
) -> Row | None:
    pairs = _pairs(ours, "first_playlist", bare, "first_playlist")
    if len(pairs) < len(ours):
        return None
    return _paired_row(
        f"{label}: push start to first playable playlist",
        pairs,
        baseline_name="bare ffmpeg -listen, local HLS",
        note=f"median of {len(pairs)} rounds; ours: master + rung playlists in Blob",
    )


def _first_frame_row(label: str, bare: list[dict[str, Any]], ours: list[dict[str, Any]]) -> Row:
    return _paired_row(
        f"{label}: push start to first frame playing (browser)",
        _pairs(ours, "first_frame", bare, "first_playlist"),
        baseline_name="bare ffmpeg's first playable playlist",
        note=f"goal <= {FIRST_FRAME_GOAL}x; hls.js in Chromium, page open before the push",
    )


def _bare_player_row(label: str, bare: list[dict[str, Any]], ours: list[dict[str, Any]]) -> Row:
    return _paired_row(
        f"{label}: push start to first frame playing, against a bare player",
        _pairs(ours, "first_frame", bare, "first_frame"),
        baseline_name="bare hls.js on bare ffmpeg's files, same browser",
        note="no API, no Blob: the player handed the local master once playable",
    )


def _behind_edge_row(label: str, ours: list[dict[str, Any]]) -> Row:
    samples = [value for result in ours for value in result["behind_edge"]]
    return Row(
        metric=f"{label}: player behind the live edge, median",
        unit="s",
        ours=median(samples),
        baseline=BEHIND_EDGE_GOAL,
        baseline_name="goal: at most",
        note=f"hls.js latency, {len(samples)} samples, max {max(samples):.2f} s",
    )


def _source_rows(label: str, bare: list[dict[str, Any]], ours: list[dict[str, Any]]) -> list[Row]:
    rows: list[Row] = []
    first_row = _first_playlist_row(label, bare, ours)
    if first_row is not None:
        rows.append(first_row)
    if all(o["first_frame"] is not None for o in ours):
        rows.append(_first_frame_row(label, bare, ours))
        if all(b["first_frame"] is not None for b in bare):
            rows.append(_bare_player_row(label, bare, ours))
    if all(o["behind_edge"] for o in ours):
        rows.append(_behind_edge_row(label, ours))
    return rows


def _source_problems(label: str, rows: list[Row], ours: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if not any(row.metric.endswith("first playable playlist") for row in rows):
        problems.append(f"{label}: no playable playlist appeared in some round (see details)")
    if not any(row.metric.endswith("(browser)") for row in rows):
        problems.append(f"{label}: the player showed no frame in some round")
    if not any(row.metric.endswith("edge, median") for row in rows):
        problems.append(f"{label}: no latency sample in some round")
    errors = [e for result in ours for e in result["player_errors"] if e.get("fatal")]
    if errors:
        problems.append(f"{label}: the player failed: {errors[:3]}")
    return problems


def run() -> Result:
    import json as json_module
    import socket

    from tests import browser

    watch = Stopwatch()
    problems: list[str] = []
    rows: list[Row] = []
    results: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    with contextlib.ExitStack() as running:
        sock: socket.socket = running.enter_context(browser.reserve_socket())
        origins = json_module.dumps([browser.origin_of(sock)])
        env = running.enter_context(stack("live_latency", {"WEBCAST_ALLOWED_ORIGINS": origins}))
        temp = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="bench-live-")))
        from shared.config import get_settings

        preset = PRESET or get_settings().media_x264_preset
        browser.build_player()
        app = browser.harness_app(browser.blob_origin(env["WEBCAST_STORAGE_CONNECTION_STRING"]))
        app.mount(BARE_PATH, StaticFiles(directory=temp))
        harness_url = running.enter_context(browser.serve(app, sock))
        chromium = running.enter_context(browser.chromium())
        for label, gop_frames in GOPS.items():
            folder = temp / label.replace(" ", "-").replace(".", "_")
            folder.mkdir()
            source = folder / "source.flv"
            _source(source, gop_frames)
            bare: list[dict[str, Any]] = []
            ours: list[dict[str, Any]] = []
            for number in range(ROUNDS):
                round_folder = folder / f"round{number}"
                (round_folder / "ours").mkdir(parents=True)
                with browser.player_page(chromium, harness_url) as player:
                    bare.append(_bare(source, round_folder, preset, player, temp))
                ours.append(_ours(source, round_folder / "ours", harness_url, chromium))
            results[label] = (bare, ours)
            source_rows = _source_rows(label, bare, ours)
            rows += source_rows
            problems += _source_problems(label, source_rows, ours)
    every = [result for _, ours in results.values() for result in ours]
    delays = [d for result in every for d in result["upload_delays"]]
    if delays:
        for label, value in (("median", median(delays)), ("max", max(delays))):
            rows.append(
                Row(
                    metric=f"segment end to upload, {label}",
                    unit="s",
                    ours=value,
                    baseline=SEGMENT_SECONDS,
                    baseline_name="goal: one segment",
                    note=f"{len(delays)} segments, all rungs and sources",
                )
            )
        if max(delays) >= SEGMENT_SECONDS:
            problems.append(f"a segment took {max(delays):.2f} s to reach Blob (goal < 2 s)")
    else:
        problems.append("no segment was uploaded")
    source_delays = [d for result in every for d in result["source_delays"]]
    if source_delays:
        rows.append(
            Row(
                metric="segment's last frame pushed to upload, median",
                unit="s",
                ours=median(source_delays),
                note=f"max {max(source_delays):.2f} s; top rung; encode + upload",
            )
        )
    stops = [r["stopped_after_push"] for r in every if r["stopped_after_push"] is not None]
    if len(stops) == len(every):
        rows.append(
            Row(
                metric="push end to session stopped, median",
                unit="s",
                ours=median(stops),
                note="final playlists and the recording committed",
            )
        )
    else:
        problems.append("a session did not stop after the push")
    return Result(
        name="live_latency",
        rows=rows,
        details={
            "seconds_pushed": SECONDS,
            "rounds": ROUNDS,
            "ladder": "default (720p/540p/360p, 2 s)",
            "preset": preset,
            "sources": {
                label: {
                    "bare_first_playlist": [b["first_playlist"] for b in bare],
                    "bare_first_frame": [b["first_frame"] for b in bare],
                    "ours_first_playlist": [o["first_playlist"] for o in ours],
                    "ours_first_segment_on_disk": [o["first_segment_on_disk"] for o in ours],
                    # Seconds after the push started: nginx's on_publish reached the ingest,
                    # and the API had accepted the key and the session's ffmpeg subscribed.
                    "ours_publish_hook": [o["publish_hook"] for o in ours],
                    "ours_first_frame": [o["first_frame"] for o in ours],
                    "ours_player_steps": [o["player_steps"] for o in ours],
                    "ours_behind_edge": [o["behind_edge"] for o in ours],
                    "segments_uploaded": [o["segments"] for o in ours],
                }
                for label, (bare, ours) in results.items()
            },
            "upload_delays": [round(d, 3) for d in delays],
            "source_delays": [round(d, 3) for d in source_delays],
            "stopped_after_push": stops,
            "ingest_log_tail": every[-1]["ingest_log_tail"] if problems and every else "",
        },
        seconds=watch.seconds,
        problems=problems,
    )
