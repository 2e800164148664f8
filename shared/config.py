"""Settings for every piece of the platform, read from the environment (prefix WEBCAST_)."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMULATOR_STORAGE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
EMULATOR_COSMOS_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)


class Settings(BaseSettings):
    """Configuration: emulator defaults locally, managed identity endpoints in Azure."""

    model_config = SettingsConfigDict(env_prefix="WEBCAST_", env_file=None, extra="ignore")

    environment: Literal["local", "test", "azure"] = "local"

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

    public_base_url: str = "http://127.0.0.1:7071"
    enable_api_docs: bool = False
    # Origins allowed to send state-changing requests (the admin SPA); others get 403.
    allowed_origins: list[str] = ["http://127.0.0.1:7071", "http://localhost:7071"]
    max_body_bytes: int = 1_048_576

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

    # Keys hashes of e-mail addresses and client addresses (Key Vault in Azure).
    lookup_hmac_key: SecretStr = SecretStr("local-development-lookup-key-change-me")

    audit_shards: int = Field(default=4, ge=1, le=64)

    # Malware gate (P38): "defender" waits for Defender for Storage's scan result event, sealed
    # onto the scanned version (decision 0030); "off" treats every file as clean and is
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

    downloads_max_bytes: int = Field(default=200 * 1024**2, ge=1)

    # Shared secret of the live ingest (nginx-rtmp sidecar) towards the API's on_publish hook.
    live_ingest_secret: SecretStr = SecretStr("local-development-ingest-secret-change-me")
    live_rtmp_port: int = 1935
    live_rtmp_host: str = "127.0.0.1"

    @property
    def is_azure(self) -> bool:
        return self.environment == "azure"

    @model_validator(mode="after")
    def _gates_on_in_azure(self) -> "Settings":
        if self.environment == "azure" and self.malware_gate == "off":
            raise ValueError("WEBCAST_MALWARE_GATE=off is for local work only, not in Azure")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cleared by tests that change the environment)."""
    return Settings()
