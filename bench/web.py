"""The participant web: gzipped JavaScript per entry point against its budget, and the API
requests one watching viewer's page makes per minute against the bare player harness (hls.js
and the API's playlists, nothing else) watching the same VOD in the same run."""

import contextlib
import gzip
import json
import re
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import Result, Row, Stopwatch, stack
from functions.api.viewer_deps import VIEWER_COOKIE

ROOT = Path(__file__).resolve().parent.parent
WEB_DIST = ROOT / "web" / "dist"
# Lighthouse 12.2.3 is the last release for Node 20; installed for the bench alone.
LIGHTHOUSE_VERSION = "12.2.3"
LIGHTHOUSE_DIR = ROOT / ".local" / "tools" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
# The participant entry without the player: at most this much gzipped JavaScript (issue 15).
ENTRY_BUDGET_KB = 100.0
WATCH_SECONDS = 60
CLIP_SECONDS = 75


def _gzipped_kb(path: Path) -> float:
    return len(gzip.compress(path.read_bytes(), compresslevel=9)) / 1000


def bundle_rows() -> tuple[list[Row], dict[str, Any]]:
    """The entry's own JavaScript (what the page loads before any player) and the player chunk
    (hls.js and the player module, loaded only with a video)."""
    from devtools.web_build import ensure_built

    ensure_built()
    html = (WEB_DIST / "participant.html").read_text()
    eager = re.findall(r'(?:src|href)="/assets/([^"]+\.js)"', html)
    scripts = sorted((WEB_DIST / "assets").glob("*.js"))
    player = [path for path in scripts if path.name.startswith("Player-")]
    entry = [WEB_DIST / "assets" / name for name in eager]
    lazy = [path for path in scripts if path not in entry and path not in player]
    entry_kb = sum(_gzipped_kb(path) for path in entry)
    player_kb = sum(_gzipped_kb(path) for path in player)
    css_kb = sum(_gzipped_kb(path) for path in (WEB_DIST / "assets").glob("*.css"))
    rows = [
        Row(
            "participant entry JavaScript, without the player (gzip)",
            "KB",
            entry_kb,
            ENTRY_BUDGET_KB,
            "budget",
        ),
        Row(
            "player chunk: hls.js and the player module (gzip, only with a video)", "KB", player_kb
        ),
        Row("participant CSS (gzip)", "KB", css_kb),
    ]
    details = {
        "entry": [path.name for path in entry],
        "player": [path.name for path in player],
        "other_lazy_chunks": [path.name for path in lazy],
    }
    return rows, details


def _kind(url: str, origin: str) -> str:
    """What a request was for: an API call by its route's last part, or media from Blob."""
    if not url.startswith(origin):
        return "media (Blob)"
    path = urlsplit(url).path
    if not path.startswith("/api/"):
        return "page files"
    if path.endswith(".m3u8"):
        return "api: playlists"
    last = path.rstrip("/").split("/")[-1]
    return f"api: {last}"


def _watch(page: Any, origin: str, start: Any) -> Counter[str]:
    """The requests of the page while it plays for WATCH_SECONDS, after `start` began it."""
    seen: Counter[str] = Counter()
    page.on("request", lambda request: seen.update([_kind(request.url, origin)]))
    start()
    page.wait_for_function(
        "() => document.querySelector('video')?.currentTime > 0.5", timeout=60_000
    )
    started = sum(seen.values())
    seen.clear()
    time.sleep(WATCH_SECONDS)
    seen["(before playing)"] = started
    return seen


def _lighthouse_installed() -> Path:
    if not LIGHTHOUSE.exists():
        print(
            f"   installing lighthouse {LIGHTHOUSE_VERSION} into {LIGHTHOUSE_DIR} ...", flush=True
        )
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(LIGHTHOUSE_DIR), "--no-audit", "--no-fund",
             "--loglevel=error", f"lighthouse@{LIGHTHOUSE_VERSION}"],
            check=True,
        )  # fmt: skip
    return LIGHTHOUSE


def lighthouse(url: str, headers: dict[str, str], out: Path) -> dict[str, Any]:
    """Lighthouse's performance and accessibility scores (0-100) of the page, on a desktop
    profile in Debian's Chromium; a category Lighthouse could not score is None, and its
    reason is kept."""
    command = [
        str(_lighthouse_installed()),
        url,
        "--only-categories=performance,accessibility",
        "--preset=desktop",
        "--output=json",
        f"--output-path={out}",
        "--quiet",
        "--chrome-flags=--headless=new --no-sandbox --autoplay-policy=no-user-gesture-required",
        f"--extra-headers={json.dumps(headers)}",
    ]
    subprocess.run(
        command, check=True, env={"CHROME_PATH": "/usr/bin/chromium", "PATH": "/usr/bin:/bin"}
    )
    report = json.loads(out.read_text())
    scores: dict[str, Any] = {
        name: None if category["score"] is None else category["score"] * 100
        for name, category in report["categories"].items()
    }
    if report.get("runtimeError"):
        scores["runtime_error"] = report["runtimeError"].get("message")
    return scores


def requests_per_minute() -> tuple[list[Row], dict[str, Any], list[str]]:
    import socket

    from tests import browser, helpers, media_pipeline

    problems: list[str] = []
    tiny = {"WEBCAST_MEDIA_LADDER": "tiny", "WEBCAST_MEDIA_X264_PRESET": "ultrafast"}
    with contextlib.ExitStack() as running:
        sock: socket.socket = running.enter_context(browser.reserve_socket())
        origins = json.dumps([browser.origin_of(sock)])
        env = running.enter_context(stack("web", {"WEBCAST_ALLOWED_ORIGINS": origins} | tiny))
        folder = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="bench-web-")))
        print(f"   a {CLIP_SECONDS} s clip, transcoded and published ...", flush=True)
        owner = helpers.new_owner("bench-web")
        modules = {"message_box": True, "polls": True, "tracking": True}
        webcast_id = helpers.new_webcast(owner, title="Bench", language="en", modules=modules)
        clip = media_pipeline.make_clip(folder / "clip.mp4", CLIP_SECONDS)
        media_pipeline.publish_clip(owner, webcast_id, clip)
        browser.build_player()
        app = browser.harness_app(browser.blob_origin(env["WEBCAST_STORAGE_CONNECTION_STRING"]))
        base = running.enter_context(browser.serve(app, sock))
        chromium = running.enter_context(browser.chromium())
        api_origin = base

        print(f"   the participant page, {WATCH_SECONDS} s ...", flush=True)
        context = chromium.new_context(locale="en-US")
        page = context.new_page()
        page.goto(f"{base}/w/{webcast_id}")

        def start_ours() -> None:
            page.get_by_role("button", name="Enter the webcast").click()
            page.locator("video").focus()
            page.keyboard.press("k")

        ours = _watch(page, api_origin, start_ours)
        context.close()

        print(f"   the bare player harness, {WATCH_SECONDS} s ...", flush=True)
        with browser.player_page(chromium, base) as player:
            bare = _watch(player.page, api_origin, lambda: player.open(webcast_id))

        print("   lighthouse: the player page and the bare player harness ...", flush=True)
        viewer = helpers.Viewer.enter(webcast_id)
        cookie = {"Cookie": f"{VIEWER_COOKIE}={viewer.token}"}
        scores = {
            "ours": lighthouse(f"{base}/w/{webcast_id}", cookie, folder / "ours.json"),
            "bare": lighthouse(
                f"{base}/_harness/player.html?webcast={webcast_id}&mode=vod&config=%7B%7D",
                {},
                folder / "bare.json",
            ),
        }

    def api(counts: Counter[str]) -> float:
        return sum(n for kind, n in counts.items() if kind.startswith("api:")) * 60 / WATCH_SECONDS

    ours_api, bare_api = api(ours), api(bare)
    if ours.get("api: heartbeat", 0) == 0:
        problems.append("the page sent no heartbeat while the video played")
    rows = [
        Row(
            "API requests per minute of one watching viewer",
            "req/min",
            ours_api,
            bare_api,
            "bare player harness",
        ),
        Row(
            "of these: feed, polls, own messages, live, downloads (ETag polling)",
            "req/min",
            sum(
                ours[k]
                for k in ours
                if k.startswith("api:") and k not in ("api: playlists", "api: heartbeat")
            )
            * 60
            / WATCH_SECONDS,
        ),
        Row("of these: heartbeats", "req/min", ours.get("api: heartbeat", 0) * 60 / WATCH_SECONDS),
    ]
    rows += [
        Row(
            f"Lighthouse {name} of the player page (desktop profile)",
            "score",
            scores["ours"][name] or 0.0,
            scores["bare"][name],
            "bare player harness",
        )
        for name in ("performance", "accessibility")
    ]
    if (scores["ours"]["accessibility"] or 0) < 90:
        problems.append(f"Lighthouse accessibility of the player page: {scores['ours']}")
    details = {"ours": dict(ours), "bare": dict(bare), "watch_seconds": WATCH_SECONDS}
    return rows, details | {"lighthouse": scores}, problems


def run() -> Result:
    watch = Stopwatch()
    rows, details = bundle_rows()
    problems = []
    if rows[0].ours > ENTRY_BUDGET_KB:
        problems.append(f"the participant entry is {rows[0].ours:.1f} KB gzipped, over its budget")
    request_rows, requests, request_problems = requests_per_minute()
    return Result(
        name="web",
        rows=rows + request_rows,
        details=details | {"requests": requests},
        seconds=watch.seconds,
        problems=problems + request_problems,
    )
