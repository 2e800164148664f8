"""Tracking settings: shard counts (deployment constants) and the heartbeat interval."""

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.stores import QUEUES

# Seconds of one time slot: the unit in which watching is stored and counted. Never change it
# for existing data; the heartbeat interval is a multiple of it.
SLOT_SECONDS = 30
# Partition shards per webcast: `{webcast_id}:t{0..15}`. Reports read all of them, so the
# number must stay fixed while data exists.
PARTITION_SHARDS = 16
# The queue shards are the registered `tracking-{n}` queues (Bicep creates the same list).
QUEUE_SHARDS = sum(1 for spec in QUEUES if re.fullmatch(r"tracking-\d+", spec.name))
QUEUE_PREFIX = "tracking-"


class TrackingSettings(BaseSettings):
    """WEBCAST_TRACKING_* settings that may change at run time."""

    model_config = SettingsConfigDict(env_prefix="WEBCAST_TRACKING_", extra="ignore")

    heartbeat_seconds: int = Field(default=30, ge=SLOT_SECONDS, le=10 * SLOT_SECONDS)
    report_max_age_seconds: int = Field(default=15, ge=0, le=600)

    @field_validator("heartbeat_seconds")
    @classmethod
    def _whole_slots(cls, value: int) -> int:
        if value % SLOT_SECONDS:
            raise ValueError(f"must be a multiple of {SLOT_SECONDS} seconds")
        return value


def tracking_settings() -> TrackingSettings:
    """Read on each call: cheap, and tests may change the environment."""
    return TrackingSettings()


def queue_for(shard: int) -> str:
    return f"{QUEUE_PREFIX}{shard % QUEUE_SHARDS}"
