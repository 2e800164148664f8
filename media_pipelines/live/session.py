"""One accepted publish: the ffmpeg that plays it from nginx-rtmp, the HLS uploaders, the
recorder and the health reports, and the clean end (stopped or dropped) that keeps what was
recorded."""

import logging
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from media_pipelines.ladder import Ladder
from media_pipelines.live import health
from media_pipelines.live.api import ApiUnavailableError, IngestApi, RefusedError
from media_pipelines.live.hls import EventLog, LiveOutput, RungUploader
from media_pipelines.live.ladder import ffmpeg_command
from media_pipelines.live.process import PRE_EXEC
from media_pipelines.live.recording import Recorder
from media_pipelines.tools import last_lines
from shared.clients import blob_container_name
from shared.clock import utc_iso
from shared.live.models import (
    LIVE_APP,
    IngestDone,
    IngestGrant,
    IngestHealthReport,
    IngestSessionRef,
    RecordingTarget,
    SessionEnd,
    StreamInput,
    StreamProblem,
)

log = logging.getLogger("webcast.live.session")

# After nginx reports the publisher gone, ffmpeg ends on the stream's end within moments;
# one that is still running after this long is stopped (it writes its trailer on SIGINT).
STOP_GRACE_SECONDS = 10.0
_KILL_AFTER_SECONDS = 5.0
# The API's answer once the webcast or the session is gone (deleted, or being deleted).
GONE = 404
# How long the end waits for nginx's publish_done (and with it the reason) after ffmpeg ended.
_REASON_WAIT_SECONDS = 5.0
# Health goes to the API on every first-rung segment; before the stream plays, this often.
_WAITING_REPORT_SECONDS = 2.0
# ffmpeg reports its speed every few seconds; below this (after a start-up allowance) the
# streamer is told that viewers fall behind.
_SLOW_SPEED = 0.9
_SLOW_AFTER_SECONDS = 12.0
# The input description is at the log's start, progress lines at its end.
_LOG_HEAD_BYTES = 16 * 1024
_LOG_TAIL_BYTES = 2 * 1024
_SPEED = re.compile(r"speed=\s*([0-9.]+)x")


class LiveSession:
    def __init__(
        self,
        *,
        grant: IngestGrant,
        rtmp_port: int,
        work_dir: Path,
        ladder: Ladder,
        preset: str,
        ffmpeg: str,
        api: IngestApi,
        blobs: BlobServiceClient,
        events: EventLog | None,
        on_closed: Callable[["LiveSession"], None],
    ) -> None:
        self.grant = grant
        self.directory = work_dir / "sessions" / grant.session_id
        # Set when the API says the webcast (or the session) is gone: the stream is dropped
        # and what the session uploaded is deleted (decision 0048).
        self.webcast_gone = threading.Event()
        self._api = api
        self._blobs = blobs
        self._on_closed = on_closed
        self._command = ffmpeg_command(
            ffmpeg=ffmpeg,
            source=f"rtmp://127.0.0.1:{rtmp_port}/{LIVE_APP}/{grant.session_id}",
            output_dir=self.directory / "hls",
            ladder=ladder,
            preset=preset,
        )
        # Set on each first-rung segment and on the master's upload: the health loop reports.
        self._new_segment = threading.Event()
        self._output = LiveOutput(
            container=blobs.get_container_client(blob_container_name(grant.container)),
            prefix=grant.output_prefix,
            session_id=grant.session_id,
            ladder=ladder,
            ffmpeg=ffmpeg,
            output_dir=self.directory / "hls",
            events=events,
            withdrawn=self.webcast_gone,
            source_frame_rate=self._source_frame_rate,
            on_master=self._new_segment.set,
        )
        self._rungs = [
            RungUploader(
                rung=rung.name,
                output=self._output,
                on_segment=self._segment_uploaded if index == 0 else None,
            )
            for index, rung in enumerate(ladder.rungs)
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self._recorder: Recorder | None = None
        self._gone = threading.Event()
        self._gone_at = 0.0
        self._reason: SessionEnd | None = None
        self._ended = threading.Event()
        self._last_segment_at: str | None = None
        self._started_at = time.monotonic()
        self._input: StreamInput | None = None
        self._problems: list[StreamProblem] = []
        # Set when the stream cannot be used: the ingest then disconnects the encoder, which
        # would otherwise push into nothing (most encoders reconnect and try again).
        self.refused = threading.Event()
        self.closed = threading.Event()

    @property
    def session_id(self) -> str:
        return self.grant.session_id

    def _ref(self) -> IngestSessionRef:
        return IngestSessionRef(
            tenant_id=self.grant.tenant_id,
            webcast_id=self.grant.webcast_id,
            session_id=self.grant.session_id,
        )

    def start(self) -> None:
        """Start ffmpeg (nginx holds it until the publisher's data flows) and the threads."""
        self._started_at = time.monotonic()
        for rung in self._rungs:
            (self.directory / "hls" / rung.rung).mkdir(parents=True, exist_ok=True)
        with (self.directory / "ffmpeg.log").open("wb") as errors:
            self._process = subprocess.Popen(  # noqa: S603 - arguments built by this package
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                preexec_fn=PRE_EXEC,
            )
        assert self._process.stdout is not None
        self._recorder = Recorder(
            stream=self._process.stdout,
            spool_dir=self.directory / "recording",
            record=self.grant.record,
            target=self._recording_target,
            blobs=self._blobs,
            withdrawn=self.webcast_gone,
        )
        self._recorder.start()
        for rung in self._rungs:
            rung.start()
        threading.Thread(target=self._report_health, name="live-health", daemon=True).start()
        threading.Thread(target=self._supervise, name="live-session", daemon=True).start()

    def accepted(self, moment: float) -> None:
        """The encoder's stream begins now: the capture time of the stream's timestamp 0."""
        self._output.capture_started_at = moment

    def publisher_gone(self, reason: SessionEnd) -> None:
        """nginx reported the publish done: the session ends once ffmpeg has drained it."""
        if self._reason is None:
            self._reason = reason
        self._gone_at = time.monotonic()
        self._gone.set()

    def abort(self) -> None:
        """End now (the ingest shuts down): what was recorded is kept, the end is `dropped`."""
        self.publisher_gone(SessionEnd.dropped)
        self._gone_at = time.monotonic() - STOP_GRACE_SECONDS

    def _withdraw(self) -> None:
        """The webcast is gone: upload nothing more and end now (the ingest then refuses the
        publisher on its next update)."""
        if not self.webcast_gone.is_set():
            log.info("session %s: its webcast is gone; dropping the stream", self.session_id)
            self.webcast_gone.set()
            self.abort()

    def _recording_target(self) -> RecordingTarget:
        try:
            return self._api.recording_target(self._ref())
        except RefusedError as error:
            if error.status == GONE:
                self._withdraw()
            raise

    def end_unstarted(self) -> None:
        """ffmpeg could not start: end the session in the API at once."""
        try:
            self._finish(SessionEnd.dropped)
        finally:
            self._ended.set()
            self.closed.set()
            self._on_closed(self)

    def _segment_uploaded(self) -> None:
        self._last_segment_at = utc_iso(time.time())
        self._new_segment.set()

    def _log(self, *, tail: bool) -> str:
        """The start (the input's description) or the end (progress) of ffmpeg's log."""
        try:
            with (self.directory / "ffmpeg.log").open("rb") as handle:
                if tail:
                    size = handle.seek(0, 2)
                    handle.seek(max(0, size - _LOG_TAIL_BYTES))
                    return handle.read(_LOG_TAIL_BYTES).decode(errors="replace")
                return handle.read(_LOG_HEAD_BYTES).decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _read_input(self) -> StreamInput | None:
        if self._input is None:
            self._input = health.read_input(self._log(tail=False))
        return self._input

    def _source_frame_rate(self) -> float | None:
        found = self._read_input()
        return found.frame_rate if found is not None else None

    def _speed(self) -> float | None:
        speeds = _SPEED.findall(self._log(tail=True))
        return float(speeds[-1]) if speeds else None

    def _current_problems(self) -> list[StreamProblem]:
        found = self._read_input()
        problems = health.input_problems(found) if found is not None else []
        running = time.monotonic() - self._started_at
        no_picture_yet = self._rungs[0].segments_uploaded == 0 and not health.refusing(problems)
        if no_picture_yet and running >= health.WAITING_FOR_VIDEO_SECONDS:
            problems.append(health.waiting_for_video(running))
        speed = self._speed() if running >= _SLOW_AFTER_SECONDS else None
        if speed is not None and speed < _SLOW_SPEED:
            problems.append(health.too_slow(speed))
        return problems

    def _report_health(self) -> None:
        last_report = 0.0
        reported_playable = False
        while not self._ended.is_set():
            new_segment = self._new_segment.wait(timeout=1.0 if reported_playable else 0.2)
            if self._ended.is_set():
                return
            self._new_segment.clear()
            # Read after the wait: the master's upload is what may have woken it.
            playable = self._output.master_in_blob
            waiting = time.monotonic() - last_report >= _WAITING_REPORT_SECONDS
            if not (new_segment or (playable and not reported_playable) or waiting):
                continue
            assert self._recorder is not None
            report = IngestHealthReport(
                **self._ref().model_dump(),
                bitrate=self._recorder.meter.bitrate(),
                last_segment_at=self._last_segment_at,
                segments_uploaded=self._rungs[0].segments_uploaded,
                playable=playable,
                input=self._read_input(),
                problems=self._current_problems(),
            )
            last_report = time.monotonic()
            try:
                self._api.health(report)
                reported_playable = reported_playable or playable
            except RefusedError as error:
                if error.status == GONE:
                    self._withdraw()
                    continue
                log.warning("health of session %s not taken: %s", self.session_id, error)
            except ApiUnavailableError as error:
                log.warning("health of session %s not taken: %s", self.session_id, error)

    def _refuse(self, problems: list[StreamProblem]) -> None:
        """The stream cannot be used: say why, end the session, disconnect the encoder."""
        if self.refused.is_set():
            return
        self._problems = problems
        self._reason = SessionEnd.refused
        self.refused.set()
        log.info(
            "session %s refused: %s",
            self.session_id,
            ", ".join(problem.code.value for problem in problems),
        )

    def _check_input(self) -> None:
        found = self._read_input()
        if found is not None and health.refusing(problems := health.input_problems(found)):
            self._refuse(problems)

    def _stop_ffmpeg(self, process: "subprocess.Popen[bytes]") -> None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=_KILL_AFTER_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _supervise(self) -> None:
        process = self._process
        assert process is not None and self._recorder is not None
        try:
            while process.poll() is None:
                if self._gone.is_set() and time.monotonic() - self._gone_at >= STOP_GRACE_SECONDS:
                    self._stop_ffmpeg(process)
                    break
                if not self.refused.is_set():
                    self._check_input()
                if self.refused.is_set():
                    self._stop_ffmpeg(process)
                    break
                time.sleep(0.1)
            failed = process.returncode not in (0, 255, -signal.SIGINT)
            if failed:
                errors = (self.directory / "ffmpeg.log").read_text(errors="replace")
                log.warning(
                    "ffmpeg of session %s exited with %s: %s",
                    self.session_id,
                    process.returncode,
                    last_lines(errors, hide=[str(self.directory)]),
                )
            for rung in self._rungs:
                rung.stop()
            for rung in self._rungs:
                rung.join()
            self._recorder.join()
            if failed and not self.refused.is_set():
                self._check_input()
            if not self.refused.is_set() and not self._gone.wait(_REASON_WAIT_SECONDS) and failed:
                # ffmpeg gave up while the encoder still sends: tell the streamer why.
                self._refuse(health.exit_problems(self._log(tail=False), self._read_input()))
            self._finish(self._reason or SessionEnd.dropped)
        finally:
            self._ended.set()
            self._new_segment.set()
            self.closed.set()
            self._on_closed(self)

    def _delete_uploaded(self) -> None:
        """What the session wrote for a webcast that is gone: its live output, its recording
        and its local files, all deleted."""
        removed = self._output.delete_all()
        if self._recorder is not None:
            self._recorder.discard()
        shutil.rmtree(self.directory, ignore_errors=True)
        log.info(
            "session %s ended for a deleted webcast: %d blobs removed", self.session_id, removed
        )

    def _finish(self, reason: SessionEnd) -> None:
        report = IngestDone(
            **self._ref().model_dump(),
            reason=reason,
            segments_uploaded=self._rungs[0].segments_uploaded,
            problems=self._problems,
        )
        try:
            self._api.publish_done(report)
        except RefusedError as error:
            if error.status == GONE:
                self.webcast_gone.set()
            else:
                log.exception("session %s could not be ended in the API", self.session_id)
        except ApiUnavailableError:
            log.exception("session %s could not be ended in the API", self.session_id)
        if self.webcast_gone.is_set():
            self._delete_uploaded()
            return
        unstaged = any((self.directory / "recording").glob("*.part"))
        if unstaged or any(rung.failed for rung in self._rungs):
            log.error("session %s left files for inspection in %s", self.session_id, self.directory)
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
        recorder = self._recorder
        log.info(
            "session %s ended (%s): %d segments, recording %s (%d bytes)",
            self.session_id,
            reason.value,
            self._rungs[0].segments_uploaded,
            (recorder.asset_id if recorder else None) or "none",
            recorder.recorded_bytes if recorder else 0,
        )
