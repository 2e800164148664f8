"""RTMPS into the live ingest as the Azure image runs it (P26, decision 0068): stunnel with the
image's own configuration ends TLS 1.2 or later in front of nginx-rtmp's production profile,
which admits publishers from loopback only. An encoder that checks the certificate goes live;
plain RTMP, TLS 1.1 and a certificate the encoder does not trust go nowhere."""

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools.emulators import ROOT, free_port, wait_for_port
from shared.config import Settings
from shared.live import service as live_service
from tests import helpers
from tests.live_ingest import Ingest, running_ingest

STUNNEL_CONF = ROOT / "media_pipelines" / "live" / "stunnel.conf"


@dataclass(frozen=True)
class Tls:
    port: int
    ca_file: Path


def _certificate(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for localhost: (key and chain in one PEM, the cert)."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    pem = directory / f"{name}.pem"
    pem.write_bytes(key.read_bytes() + cert.read_bytes())
    return pem, cert


@pytest.fixture(scope="module")
def production_ingest(api_url: str) -> Iterator[Ingest]:
    with running_ingest(api_url, profile="production") as running:
        yield running


@pytest.fixture(scope="module")
def tls(production_ingest: Ingest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tls]:
    """stunnel with the image's configuration; only ports and the certificate's path moved."""
    work = tmp_path_factory.mktemp("rtmps")
    pem, cert = _certificate(work, "ingest")
    shipped = STUNNEL_CONF.read_text()
    accept = re.search(r"^accept = 0\.0\.0\.0:(\d+)$", shipped, re.M)
    connect = re.search(r"^connect = 127\.0\.0\.1:(\d+)$", shipped, re.M)
    assert accept and connect and "cert = /mnt/tls/ingest.pem" in shipped
    # The image's nginx listens where its settings say (media_pipelines.live --rtmp-port).
    assert int(connect.group(1)) == Settings.model_fields["live_rtmp_port"].default
    port = free_port()
    conf = work / "stunnel.conf"
    conf.write_text(
        shipped.replace(accept.group(0), f"accept = 127.0.0.1:{port}")
        .replace(connect.group(0), f"connect = 127.0.0.1:{production_ingest.rtmp_port}")
        .replace("/mnt/tls/ingest.pem", str(pem))
    )
    log = (work / "stunnel.log").open("wb")
    process = subprocess.Popen(["stunnel4", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=10)
        yield Tls(port=port, ca_file=cert)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _push(url: str, *, seconds: float, ca_file: Path | None = None) -> "subprocess.Popen[bytes]":
    verify = ["-tls_verify", "1", "-ca_file", str(ca_file)] if ca_file else []
    return subprocess.Popen(
        [
            *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"),
            *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"),
            *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
            *("-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "60"),
            *("-c:a", "aac", "-f", "flv", *verify, url),
        ],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stream_key(name: str) -> tuple[str, str]:
    owner = helpers.new_owner(name)
    webcast_id = helpers.new_webcast(owner, title="RTMPS")
    created = owner.post(f"/api/webcasts/{webcast_id}/live")
    assert created.status_code == 201, created.text
    return webcast_id, created.json()["stream_key"]


@pytest.mark.claim("P26")
def test_an_encoder_that_checks_the_certificate_goes_live_over_rtmps(
    tls: Tls, production_ingest: Ingest
) -> None:
    webcast_id, key = _stream_key("rtmps-live")
    pusher = _push(f"rtmps://localhost:{tls.port}/live/{key}", seconds=6, ca_file=tls.ca_file)
    try:
        deadline = time.monotonic() + 30
        live = None
        while time.monotonic() < deadline:
            live = live_service.current_playback(webcast_id=webcast_id)
            if live is not None and live.state == "live":
                break
            time.sleep(0.2)
        assert live is not None and live.state == "live", production_ingest.output()
        _, errors = pusher.communicate(timeout=60)
        assert pusher.returncode == 0, errors
    finally:
        pusher.kill()


@pytest.mark.claim("P26")
def test_plain_rtmp_old_tls_and_an_untrusted_certificate_go_nowhere(
    tls: Tls, tmp_path: Path
) -> None:
    webcast_id, key = _stream_key("rtmps-refused")
    _, stranger = _certificate(tmp_path, "stranger")
    for url, ca_file in (
        (f"rtmp://localhost:{tls.port}/live/{key}", None),
        (f"rtmps://localhost:{tls.port}/live/{key}", stranger),
    ):
        pusher = _push(url, seconds=2, ca_file=ca_file)
        _, errors = pusher.communicate(timeout=30)
        assert pusher.returncode != 0, (url, errors)
    assert live_service.current_playback(webcast_id=webcast_id) is None
    old = subprocess.run(
        [
            *("openssl", "s_client", "-connect", f"127.0.0.1:{tls.port}"),
            *("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert old.returncode != 0 and "alert protocol version" in old.stdout + old.stderr, old
