"""The trigger blueprints, all in one list: the function app registers these and no others."""

import azure.functions as func

from functions.triggers import (
    backups,
    blob_events,
    deletions,
    mail,
    maintenance,
    malware,
    media,
    participant_imports,
    polls,
    retention,
    tracking,
)

BLUEPRINTS: tuple[func.Blueprint, ...] = (
    mail.blueprint,
    maintenance.blueprint,
    blob_events.blueprint,
    participant_imports.blueprint,
    polls.blueprint,
    tracking.blueprint,
    media.blueprint,
    malware.blueprint,
    deletions.blueprint,
    retention.blueprint,
    backups.blueprint,
)
