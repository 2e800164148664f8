"""`python -m media_pipelines.live --rtmp-port P --api-url http://127.0.0.1:7071 [...]`."""

import argparse
import logging
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from media_pipelines.ladder import LadderError
from media_pipelines.live.api import IngestApi
from media_pipelines.live.hls import EventLog
from media_pipelines.live.ladder import live_ladder
from media_pipelines.live.server import RTMP_MODULE, IngestServer
from media_pipelines.tools import ToolMissingError, find_tools
from shared.clients import blob_service
from shared.config import checked_settings, get_settings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    settings = checked_settings()
    parser = argparse.ArgumentParser(prog="python -m media_pipelines.live", description=__doc__)
    parser.add_argument("--rtmp-port", type=int, default=settings.live_rtmp_port)
    parser.add_argument("--api-url", default=settings.public_base_url)
    parser.add_argument("--work-dir", type=Path, help="default: a new temporary directory")
    parser.add_argument(
        "--ladder",
        default=settings.media_ladder,
        help="live profile (default, tiny) or a ladder JSON file; default WEBCAST_MEDIA_LADDER",
    )
    parser.add_argument(
        "--preset",
        default=settings.media_x264_preset,
        help="x264 preset; it must keep up in real time (default WEBCAST_MEDIA_X264_PRESET)",
    )
    parser.add_argument(
        "--profile",
        choices=("local", "production"),
        default="production" if settings.is_azure else "local",
        help="nginx.conf template",
    )
    parser.add_argument("--hook-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--nginx", default="nginx")
    parser.add_argument("--rtmp-module", default=RTMP_MODULE)
    parser.add_argument("--events-log", type=Path, help="JSON lines of upload events")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        ladder = live_ladder(args.ladder)
        ffmpeg = find_tools().ffmpeg
    except (LadderError, ToolMissingError) as error:
        print(error, file=sys.stderr)
        return 2
    own_work_dir = args.work_dir is None
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="webcast-live-"))
    server = IngestServer(
        rtmp_port=args.rtmp_port,
        api=IngestApi(
            base_url=args.api_url,
            secret=get_settings().live_ingest_secret.get_secret_value(),
        ),
        work_dir=work_dir,
        ladder=ladder,
        preset=args.preset,
        ffmpeg=ffmpeg,
        blobs=blob_service(),
        profile=args.profile,
        hook_port=args.hook_port,
        nginx=args.nginx,
        rtmp_module=args.rtmp_module,
        events=EventLog(args.events_log) if args.events_log else None,
    )
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server.start()
    print(f"ready rtmp://127.0.0.1:{args.rtmp_port}/live", flush=True)
    status = 0
    try:
        while not stopping.wait(1.0):
            if not server.nginx_running:
                # Without nginx nothing can publish: end, so that the platform restarts us.
                logging.getLogger("webcast.live.ingest").error("nginx has exited")
                status = 1
                break
    finally:
        server.stop()
        if own_work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
