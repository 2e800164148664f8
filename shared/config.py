"""Settings for every piece of the platform, read from the environment (prefix WEBCAST_)."""

import os
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMULATOR_STORAGE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
EMULATOR_COSMOS_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)

# Variables Azure itself sets in the processes it runs: App Service and Functions (also Flex
# Consumption), Container Apps and Container Apps jobs. Not FUNCTIONS_WORKER_RUNTIME: the
# Core Tools set it locally from local.settings.json. Container Instances set none.
AZURE_MARKERS = (
    "WEBSITE_SITE_NAME",
    "WEBSITE_INSTANCE_ID",
    "CONTAINER_APP_NAME",
    "CONTAINER_APP_JOB_NAME",
)
# Settings whose defaults are the emulators' and apply locally only.
_EMULATOR_DEFAULTS = ("cosmos_key", "storage_connection_string", "cosmos_emulator")
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MIN_SECRET_LENGTH = 16


def azure_markers() -> list[str]:
    """The variables set here that only Azure sets: non-empty when this process runs there."""
    return [name for name in AZURE_MARKERS if os.environ.get(name)]


def runs_in_azure() -> bool:
    """True in Azure, by Azure's own variables or WEBCAST_ENVIRONMENT (without reading settings)."""
    return bool(azure_markers()) or os.environ.get("WEBCAST_ENVIRONMENT") == "azure"


SECRETS = ("lookup_hmac_key", "live_ingest_secret")


class WithheldSecret(SecretStr):
    """A secret that the process's template does not give it (least privilege): reading it
    is a bug, so it raises instead of handing out the local-development default."""

    def __init__(self, name: str) -> None:
        super().__init__("")
        self.name = name

    def get_secret_value(self) -> str:
        raise RuntimeError(f"WEBCAST_{self.name.upper()} is not given to this process in Azure")


def _local_values(settings: "Settings") -> list[str]:
    """Settings that hold a local-development value (a change-me secret, an emulator)."""
    found = []
    for name in SECRETS:
        secret: SecretStr = getattr(settings, name)
        if isinstance(secret, WithheldSecret):
            continue
        value = secret.get_secret_value()
        if "change-me" in value:
            found.append(f"WEBCAST_{name.upper()} (the change-me default)")
        elif len(value) < MIN_SECRET_LENGTH:
            found.append(f"WEBCAST_{name.upper()} (shorter than {MIN_SECRET_LENGTH} characters)")
    if settings.cosmos_emulator:
        found.append("WEBCAST_COSMOS_EMULATOR=true")
    if settings.cosmos_key == EMULATOR_COSMOS_KEY:
        found.append("WEBCAST_COSMOS_KEY (the emulator key)")
    if (urlsplit(settings.cosmos_endpoint).hostname or "") in _LOOPBACK_HOSTS:
        found.append(f"WEBCAST_COSMOS_ENDPOINT ({settings.cosmos_endpoint}, an emulator)")
    connections = {
        "WEBCAST_STORAGE_CONNECTION_STRING": settings.storage_connection_string,
        # The Functions host's own setting, spelt as the host spells it.
        "AzureWebJobsStorage": os.environ.get("AzureWebJobsStorage"),  # noqa: SIM112
    }
    for name, connection in connections.items():
        if connection and any(
            mark in connection
            for mark in (EMULATOR_STORAGE_KEY, "devstoreaccount1", "UseDevelopmentStorage")
        ):
            found.append(f"{name} (Azurite)")
    if not settings.storage_account_name:
        found.append("WEBCAST_STORAGE_ACCOUNT_NAME (unset; Azure uses the managed identity)")
    return found


class Process(StrEnum):
    """A process deployed in Azure, whose template sets the settings marked for it."""

    function_app = "function_app"
    media_worker = "media_worker"
    store_export = "store_export"
    live_ingest = "live_ingest"


class Settings(BaseSettings):
    """Configuration: emulator defaults locally, managed identity endpoints in Azure."""

    model_config = SettingsConfigDict(env_prefix="WEBCAST_", env_file=None, extra="ignore")

    # The settings each deployed process gets from its template in Azure (every other one
    # keeps its default there); a secret comes as a Key Vault reference. The live ingest
    # joins with its template (issue 17). tests/unit/test_infra.py compares this with the
    # templates.
    deployed: ClassVar[Mapping[Process, frozenset[str]]] = {
        Process.function_app: frozenset(
            {
                "environment",
                "process",
                "cosmos_endpoint",
                "storage_account_name",
                "public_base_url",
                "allowed_origins",
                "front_door_id",
                "malware_gate",
                "media_delivery_base_url",
                "cdn_purge_endpoint",
                "mail_transport",
                "acs_email_endpoint",
                "mail_from",
                "live_rtmp_host",
                "live_rtmp_port",
                "lookup_hmac_key",
                "live_ingest_secret",
            }
        ),
        # It speaks only queues and blobs (decision 0017), but a process in Azure is refused
        # without a real Cosmos DB endpoint (`_no_local_values_in_azure`). No secret: the
        # secrets a process is not marked for are withheld (`WithheldSecret`).
        Process.media_worker: frozenset(
            {
                "environment",
                "process",
                "storage_account_name",
                "cosmos_endpoint",
                "malware_gate",
            }
        ),
        # The daily export into the separate backup account (P32); the same rule as above.
        Process.store_export: frozenset(
            {
                "environment",
                "process",
                "cosmos_endpoint",
                "storage_account_name",
                "backup_account_url",
                "malware_gate",
            }
        ),
        # The live ingest behind stunnel (decision 0068): it reports to the API at the public
        # URL and writes the live output; its nginx listens on the default loopback port.
        Process.live_ingest: frozenset(
            {
                "environment",
                "process",
                "storage_account_name",
                "cosmos_endpoint",
                "public_base_url",
                "malware_gate",
                "live_ingest_secret",
            }
        ),
    }

    environment: Literal["local", "test", "azure"] = "local"
    # Which deployed process this is: in Azure it gets only the secrets marked for it.
    process: Process = Process.function_app

    cosmos_endpoint: str = "http://127.0.0.1:8081"
    cosmos_key: str | None = EMULATOR_COSMOS_KEY
    cosmos_database: str = "webcast"
    # Prefix for container names so that parallel test runs never share a container.
    cosmos_container_prefix: str = ""
    cosmos_emulator: bool = True

    storage_connection_string: str | None = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={EMULATOR_STORAGE_KEY};"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
        "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;"
    )
    storage_account_name: str | None = None
    storage_prefix: str = ""
    # The separate backup account the store export writes to (P32); unset: the emulator's.
    backup_account_url: str | None = None

    public_base_url: str = "http://127.0.0.1:7071"
    enable_api_docs: bool = False
    # The built participant pages (`npm run -w web build`); the API serves them on its origin.
    web_dist_dir: str = str(Path(__file__).resolve().parent.parent / "web" / "dist")
    # How often the participant pages ask for the feed, the polls and the downloads.
    viewer_refresh_seconds: int = Field(default=10, ge=2, le=300)
    # Origins allowed to send state-changing requests (the admin SPA); others get 403.
    allowed_origins: list[str] = ["http://127.0.0.1:7071", "http://localhost:7071"]
    max_body_bytes: int = 1_048_576
    # The Front Door profile's id (its X-Azure-FDID header): only requests that carry it have
    # their X-Azure-ClientIP taken as the client address; unset, the socket address is used.
    front_door_id: str | None = None

    session_idle_seconds: int = Field(default=30 * 60, ge=60)
    session_absolute_seconds: int = Field(default=12 * 60 * 60, ge=300)
    session_touch_seconds: int = Field(default=60, ge=1)
    # Viewers watch for hours: longer idle limit, still a session cookie without expiry.
    participant_session_idle_seconds: int = Field(default=4 * 60 * 60, ge=60)
    participant_session_absolute_seconds: int = Field(default=24 * 60 * 60, ge=300)
    participant_link_seconds: int = Field(default=30 * 24 * 60 * 60, ge=60)
    pending_session_seconds: int = Field(default=10 * 60, ge=60)

    argon2_time_cost: int = Field(default=2, ge=2)
    argon2_memory_kib: int = Field(default=19_456, ge=19_456)
    argon2_parallelism: int = Field(default=1, ge=1)

    login_max_failures: int = Field(default=5, ge=1)
    login_ip_max_failures: int = Field(default=30, ge=1)
    login_lock_base_seconds: int = Field(default=30, ge=1)
    login_lock_max_seconds: int = Field(default=900, ge=1)

    password_reset_seconds: int = Field(default=30 * 60, ge=60)
    # Mails anyone can trigger (registration, password resets): one per address and kind in
    # this many seconds, and at most so many per client address in an hour (ADR 0024).
    mail_slot_seconds: int = Field(default=5 * 60, ge=60)
    mail_client_max_per_hour: int = Field(default=60, ge=1)
    totp_issuer: str = "Webcast Platform"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    mail_from: str = "no-reply@webcast.local"
    # "smtp" locally (the aiosmtpd sink), "acs" for Azure Communication Services Email,
    # reached at acs_email_endpoint with the managed identity (DefaultAzureCredential).
    mail_transport: Literal["smtp", "acs"] = "smtp"
    acs_email_endpoint: str | None = None
    # Reminders go out this many seconds before a webcast starts (one mail per lead time).
    mail_reminder_lead_seconds: list[int] = [24 * 60 * 60, 60 * 60]
    # How long the link to manage or withdraw one's data (in every participant mail) works.
    participant_privacy_link_seconds: int = Field(default=365 * 24 * 60 * 60, ge=3600)
    # The privacy page's look at one's own data, opened by that link, and the mailed link
    # that confirms an erasure asked for there.
    participant_privacy_session_seconds: int = Field(default=15 * 60, ge=60)
    participant_erasure_link_seconds: int = Field(default=30 * 60, ge=60)

    # Keys hashes of e-mail addresses and client addresses (Key Vault in Azure).
    lookup_hmac_key: SecretStr = SecretStr("local-development-lookup-key-change-me")

    audit_shards: int = Field(default=4, ge=1, le=64)

    # Malware gate (P38): "defender" waits for Defender for Storage's scan result event, sealed
    # onto the scanned version (decision 0029); "off" treats every file as clean and is
    # refused in Azure.
    malware_gate: Literal["off", "defender"] = "off"
    # A file without a scan result after this long is treated as not scanned, and refused.
    malware_scan_wait_seconds: int = Field(default=15 * 60, ge=1)
    malware_recheck_seconds: int = Field(default=10, ge=0)

    # Media pipeline: the ladder profile name ("default", "tiny") or a path to a JSON file.
    media_ladder: str = "default"
    media_x264_preset: str = "veryfast"
    media_ffmpeg: str | None = None
    media_ffprobe: str | None = None
    media_upload_max_bytes: int = Field(default=20 * 1024**3, ge=1)
    media_upload_seconds: int = Field(default=6 * 60 * 60, ge=60)
    # Viewers of one webcast share segment URLs signed for the same window (cacheable).
    media_signing_window_seconds: int = Field(default=10 * 60, ge=10)
    # Read URLs for viewers go through the CDN (Front Door) when set; the storage URL otherwise.
    media_delivery_base_url: str | None = None
    media_worker_max_attempts: int = Field(default=3, ge=1)

    # The longest a transcode may run (the worker stops ffmpeg then); a webcast's deletion
    # sweeps a second time after at least this long, for work that was still writing.
    media_transcode_timeout_seconds: int = Field(default=6 * 60 * 60, ge=1)
    deletion_second_sweep_seconds: int = Field(default=6 * 60 * 60 + 10 * 60, ge=1)
    # Backups and soft-deleted copies expire within this many days of a deletion (P22).
    deletion_backup_window_days: int = Field(default=7, ge=1, le=30)
    # A deleted customer account's audit log stays this long as evidence, then a timer
    # purges it with the deletion records (decision 0050: three years, the usual limitation
    # period for claims a processing could give rise to).
    audit_retention_after_account_deletion_days: int = Field(default=3 * 365, ge=1)
    # The ARM resource id of the Front Door endpoint that delivers media
    # (/subscriptions/.../providers/Microsoft.Cdn/profiles/{p}/afdEndpoints/{e}); a deletion
    # purges the webcast's paths there. Unset: no CDN, the purge is only recorded.
    cdn_purge_endpoint: str | None = None
    # The owner's notice goes out min(this, retention / 2) days before a retention deletion.
    retention_notice_days: int = Field(default=14, ge=1, le=90)
    # Webcasts read per page by the retention timer, and participant-side documents it erases
    # per webcast and run (the next run continues).
    retention_page_size: int = Field(default=100, ge=1, le=1000)
    retention_erase_batch: int = Field(default=2000, ge=1)

    downloads_max_bytes: int = Field(default=200 * 1024**2, ge=1)
    # A page image's upload (logo, background, speaker photo) before it is re-encoded.
    page_image_max_bytes: int = Field(default=15 * 1024**2, ge=1)

    # Shared secret of the live ingest (nginx-rtmp sidecar) towards the API's on_publish hook.
    live_ingest_secret: SecretStr = SecretStr("local-development-ingest-secret-change-me")
    live_rtmp_port: int = 1935
    live_rtmp_host: str = "127.0.0.1"

    @property
    def is_azure(self) -> bool:
        return self.environment == "azure"

    @model_validator(mode="before")
    @classmethod
    def _azure_when_azure_says_so(cls, data: Any) -> Any:
        """A process that Azure runs is checked as in Azure, even without WEBCAST_ENVIRONMENT."""
        markers = azure_markers()
        if not markers or not isinstance(data, dict):
            return data
        declared = data.get("environment")
        if declared not in (None, "azure"):
            raise ValueError(
                f"WEBCAST_ENVIRONMENT={declared} in a process that Azure runs "
                f"({', '.join(markers)} is set); use azure"
            )
        return data | {"environment": "azure"}

    @model_validator(mode="after")
    def _no_local_values_in_azure(self) -> "Settings":
        if self.environment != "azure":
            return self
        for name in _EMULATOR_DEFAULTS:
            if name not in self.model_fields_set:
                setattr(self, name, False if name == "cosmos_emulator" else None)
        for name in SECRETS:
            if name not in self.deployed[self.process]:
                setattr(self, name, WithheldSecret(name))
        found = _local_values(self)
        if found:
            raise ValueError(
                "in Azure these settings must be set to real values: " + "; ".join(found)
            )
        return self

    @model_validator(mode="after")
    def _second_sweep_after_the_longest_job(self) -> "Settings":
        if self.deletion_second_sweep_seconds < self.media_transcode_timeout_seconds:
            raise ValueError(
                "deletion_second_sweep_seconds must be at least media_transcode_timeout_seconds"
            )
        return self

    @model_validator(mode="after")
    def _cdn_purged_where_a_cdn_delivers(self) -> "Settings":
        if self.media_delivery_base_url and self.is_azure and not self.cdn_purge_endpoint:
            raise ValueError(
                "WEBCAST_MEDIA_DELIVERY_BASE_URL needs WEBCAST_CDN_PURGE_ENDPOINT in Azure: "
                "a deletion must purge what the CDN cached"
            )
        return self

    @model_validator(mode="after")
    def _gates_on_in_azure(self) -> "Settings":
        if self.environment == "azure" and self.malware_gate == "off":
            raise ValueError("WEBCAST_MALWARE_GATE=off is for local work only, not in Azure")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cleared by tests that change the environment)."""
    return Settings()


def checked_settings() -> Settings:
    """The settings for a process that starts; a refused setting ends it with the reason."""
    try:
        return get_settings()
    except ValidationError as error:
        raise SystemExit(f"error: refusing to start with these settings: {error}") from None
