"""The API under uvicorn and the live ingest as a child process, for tests that push RTMP."""

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from devtools.emulators import ROOT, free_port, wait_for_port


@contextmanager
def served(app: FastAPI, *, port: int | None = None) -> Iterator[str]:
    """`app` under uvicorn on 127.0.0.1 in a thread; its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclasses.dataclass
class Ingest:
    rtmp_port: int
    log: Path

    def url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@contextmanager
def running_ingest(api_url: str, *, profile: str = "local") -> Iterator[Ingest]:
    """`python -m media_pipelines.live` (nginx-rtmp and its ffmpeg) reporting to `api_url`,
    with the nginx.conf of `profile` (production: loopback only, behind TLS)."""
    work = Path(tempfile.mkdtemp(prefix="test-live-"))
    port = free_port()
    log = work / "ingest.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "media_pipelines.live", "--rtmp-port", str(port)),
                *("--api-url", api_url, "--work-dir", str(work / "ingest")),
                *("--profile", profile),
            ],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, timeout=30)
        yield Ingest(rtmp_port=port, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
