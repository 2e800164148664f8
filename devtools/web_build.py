"""Builds the participant pages (vite, as `npm run -w web build` does) when their sources
changed since the last build: `make run` and the browser tests serve what is in web/dist."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VITE = ROOT / "node_modules" / ".bin" / "vite"
WEB = ROOT / "web"
DIST = WEB / "dist"
BUILT = DIST / "participant.html"
# Everything a build reads besides node_modules.
SOURCES = (
    WEB / "src",
    WEB / "player" / "src",
    WEB / "participant.html",
    WEB / "vite.config.ts",
    WEB / "package.json",
    ROOT / "package-lock.json",
)


def _newest(paths: tuple[Path, ...]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                newest = max(newest, file.stat().st_mtime)
    return newest


def stale() -> bool:
    """Whether web/dist is missing or older than a source."""
    return not BUILT.is_file() or BUILT.stat().st_mtime < _newest(SOURCES)


def ensure_built() -> bool:
    """Builds when stale; whether it built. A failed build raises with vite's output."""
    if not stale():
        return False
    built = subprocess.run(
        [str(VITE), "build", "--logLevel", "warn"],
        cwd=WEB,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"the web build failed:\n{built.stdout}{built.stderr}")
    return True
