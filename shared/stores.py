"""The store catalogue: every Cosmos container, blob container and queue, with its purpose.

A store that is not listed here cannot be reached through `shared.clients`. Whoever exports
and erases a store's personal data is named in `shared.composition.privacy_handlers`, and a
test checks that every store marked `personal_data` has both there.
"""

from dataclasses import dataclass
from enum import StrEnum


class WebcastReference(StrEnum):
    """How a container's documents name the webcast they belong to; a webcast's deletion
    searches each container for the ways it lists (decision 0047)."""

    field = "webcast_id"  # a `webcast_id` field
    own_id = "own id"  # the document's id is the webcast's id
    in_id = "in id"  # the id names the webcast among other parts (`{kind}:{webcast}:...`)
    owner = "owner"  # a participant-side owner `{webcast}/...` in `account_id`
    grant = "grant"  # a viewer session's grant for the webcast


@dataclass(frozen=True)
class CosmosContainerSpec:
    name: str
    partition_key: str
    purpose: str
    personal_data: bool
    default_ttl: int | None = None
    # Why a webcast's deletion leaves this container's entries about it; None: it removes them.
    kept_after_deletion: str | None = None
    # How its documents name their webcast; none: they never do (account-level data), and
    # the deletion only counts there, with every way at once, to be sure.
    webcast_references: tuple[WebcastReference, ...] = ()


@dataclass(frozen=True)
class BlobContainerSpec:
    name: str
    purpose: str
    personal_data: bool


@dataclass(frozen=True)
class QueueSpec:
    """A queue; `no_trigger_reason` says why no queue trigger of the function app reads it."""

    name: str
    purpose: str
    personal_data: bool = False
    no_trigger_reason: str | None = None


# Poison queues are read by people, not by a function: the host (or the media worker) moves a
# message there after its fifth failed delivery, to be looked at and sent again by hand.
POISON = "poison queue: kept for inspection, nothing reads it automatically"


COSMOS_CONTAINERS: tuple[CosmosContainerSpec, ...] = (
    CosmosContainerSpec(
        name="tenants",
        partition_key="/tenant_id",
        purpose="customer accounts, admin accounts, support grants, slug reservations",
        personal_data=True,
    ),
    CosmosContainerSpec(
        name="logins",
        partition_key="/id",
        purpose="sign-in lookup: keyed hash of the e-mail address to the account",
        personal_data=True,
    ),
    CosmosContainerSpec(
        name="tenant_slugs",
        partition_key="/id",
        purpose="readable page addresses: a customer account's slug to its tenant id",
        personal_data=False,
    ),
    CosmosContainerSpec(
        name="sessions",
        partition_key="/id",
        purpose="server-side sessions, stored under the hash of the cookie value",
        personal_data=True,
        default_ttl=24 * 60 * 60,
        webcast_references=(WebcastReference.grant,),
    ),
    CosmosContainerSpec(
        name="tokens",
        partition_key="/id",
        purpose="one-time tokens (password resets, personal links, data links), under their hash",
        personal_data=True,
        default_ttl=24 * 60 * 60,
        webcast_references=(WebcastReference.owner,),
    ),
    CosmosContainerSpec(
        name="throttles",
        partition_key="/id",
        purpose="failed sign-in counters under keyed hashes of e-mail and client address",
        personal_data=True,
        default_ttl=24 * 60 * 60,
        webcast_references=(WebcastReference.in_id,),
    ),
    CosmosContainerSpec(
        name="webcasts",
        partition_key="/tenant_id",
        purpose="webcast projects: settings, schedule, switches (no personal data)",
        personal_data=False,
        webcast_references=(WebcastReference.field, WebcastReference.own_id),
    ),
    CosmosContainerSpec(
        name="webcast_keys",
        partition_key="/id",
        purpose="webcast id -> tenant, for public participant pages",
        personal_data=False,
        webcast_references=(WebcastReference.own_id,),
    ),
    CosmosContainerSpec(
        name="participants",
        partition_key="/webcast_id",
        purpose="participants of a webcast with their form answers, consents, login keys",
        personal_data=True,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="people_index",
        partition_key="/id",
        purpose="the vendor's index for forwarding requests: a keyed hash of an e-mail address, "
        "user name or external identity -> the customer accounts holding participants by it",
        personal_data=True,
        kept_after_deletion="the vendor's forwarding index names customer accounts, not "
        "webcasts: a lookup drops an account that no longer holds the person, and the "
        "account's deletion takes it out of every entry",
    ),
    CosmosContainerSpec(
        name="erasures",
        partition_key="/webcast_id",
        purpose="erasure ledger: keyed hashes of the e-mail addresses, user names and external "
        "identities of people erased at their request, per original webcast",
        personal_data=True,
        # Kept as long as a backup of the webcast may be restored: the longest retention
        # (10 years) plus the longest backup window (deletion_backup_window_days, at most 30).
        default_ttl=(3650 + 30) * 24 * 60 * 60,
        kept_after_deletion="the erasure ledger (keyed hashes only): no import or restore of "
        "a backup may bring an erased person back",
    ),
    CosmosContainerSpec(
        name="audit",
        partition_key="/partition",
        purpose="hash-chained audit log; ids only, client address for admin-side actors",
        personal_data=True,
        kept_after_deletion="the processing log (P31): ids only, no personal values",
    ),
    CosmosContainerSpec(
        name="messages",
        partition_key="/partition",
        purpose="message box: messages and the published feed ({webcast}), votes and tallies "
        "({webcast}:up:{shard}); a participant id only while a sender switch is on",
        personal_data=True,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="polls",
        partition_key="/partition",
        purpose="polls and quizzes (by webcast), answers and tallies in vote shards "
        "({webcast}:{poll}:v{n}); a participant id only with poll_results_tied_to_participant",
        personal_data=True,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="tracking",
        partition_key="/partition",
        purpose="viewing sessions per pseudonymous viewer and mode in {webcast}:t{shard}; the "
        "participant id only while attendance_tied_to_participant is on",
        personal_data=True,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="media",
        partition_key="/webcast_id",
        purpose="media assets (status, renditions, captions), live channels and live sessions "
        "of a webcast: ids, titles and technical data; stream keys only as keyed hashes",
        personal_data=False,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="stream_keys",
        partition_key="/id",
        purpose="keyed hash of a live stream key -> tenant, webcast and channel (ingest check)",
        personal_data=False,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="downloads",
        partition_key="/webcast_id",
        purpose="handouts offered with a webcast: title, file name, type, size, scan status",
        personal_data=False,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="designs",
        partition_key="/webcast_id",
        purpose="the webcast page's design: draft and published versions of theme and blocks, "
        "speakers' names and roles; page images' use, size and scan status",
        personal_data=True,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="jobs",
        partition_key="/id",
        purpose="idempotency markers of queue handlers (ids only)",
        personal_data=False,
        default_ttl=14 * 24 * 60 * 60,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="backups",
        partition_key="/tenant_id",
        purpose="manual backups of webcast projects and their restores into new webcasts: "
        "state, the ZIP's blob name, size and SHA-256, counts per store, a refused ZIP's "
        "report (ids and counts only)",
        personal_data=False,
        webcast_references=(WebcastReference.field,),
    ),
    CosmosContainerSpec(
        name="deletions",
        partition_key="/tenant_id",
        purpose="deletion jobs of webcast projects and accounts: state, counts per store, "
        "the owner's receipt (ids and counts only)",
        personal_data=False,
        kept_after_deletion="the deletion's receipt: ids and counts only",
    ),
)

BLOB_CONTAINERS: tuple[BlobContainerSpec, ...] = (
    *(
        BlobContainerSpec(
            name=name,
            purpose=purpose,
            personal_data=True,
        )
        for name, purpose in (
            ("uploads", "video sources and live recordings, {tenant}/{webcast}/{asset}/source"),
            ("media", "transcoded HLS ladders, posters, captions, {tenant}/{webcast}/{asset}/"),
            ("live", "live HLS output of each session, {tenant}/{webcast}/{session}/"),
            (
                "exports",
                "generated exports, {tenant}/{webcast}/...; manual backups "
                "{tenant}/{webcast}/backups/{backup}.zip, removed after 24 hours",
            ),
            ("downloads", "handouts offered to viewers, {tenant}/{webcast}/{download}/{file}"),
            (
                "page-uploads",
                "page images as uploaded (logos, backgrounds, speakers' photos), "
                "{tenant}/{webcast}/{image}/upload, deleted once re-encoded or refused",
            ),
            (
                "page-images",
                "page images re-encoded without metadata, {tenant}/{webcast}/{image}/image.webp",
            ),
        )
    ),
    BlobContainerSpec(
        name="restores",
        purpose="backup ZIPs to restore into a new webcast, {tenant}/{webcast}/restore/"
        "{restore}.zip, deleted when the restore ends, or after 24 hours",
        personal_data=True,
    ),
    BlobContainerSpec(
        name="imports",
        purpose="participant import files, {tenant}/{webcast}/{job}/source, kept only while "
        "their import job needs them: deleted when it ends, or after 24 hours unstarted",
        personal_data=True,
    ),
)

QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(name="mail", purpose="mail jobs: template and account ids, never addresses"),
    QueueSpec(name="blob-events", purpose="Event Grid BlobCreated events for uploads"),
    QueueSpec(
        name="blob-events-poison",
        purpose="blob events that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(name="malware-scans", purpose="Defender scan result events: blob URL, verdict"),
    QueueSpec(
        name="malware-scans-poison",
        purpose="scan result events that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(
        name="mail-poison", purpose="mail jobs that failed five times", no_trigger_reason=POISON
    ),
    QueueSpec(name="participant-imports", purpose="participant import jobs: ids only"),
    QueueSpec(
        name="participant-imports-poison",
        purpose="import jobs that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(
        name="transcode",
        purpose="transcode jobs for the media worker: ids, blob names",
        no_trigger_reason="read by the media worker (media_pipelines.worker, a Container Apps "
        "job with ffmpeg), not by a function",
    ),
    QueueSpec(
        name="transcode-poison",
        purpose="transcode jobs the worker could not even read",
        no_trigger_reason=POISON,
    ),
    QueueSpec(
        name="deletions",
        purpose="deletion jobs of webcast projects and customer accounts: ids only",
    ),
    QueueSpec(
        name="deletions-poison",
        purpose="deletion steps that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(name="backups", purpose="manual backup jobs of webcast projects: ids only"),
    QueueSpec(
        name="backups-poison",
        purpose="backup jobs that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(name="restores", purpose="restores of backups into new webcasts: ids only"),
    QueueSpec(
        name="restores-poison",
        purpose="restore jobs that failed five times",
        no_trigger_reason=POISON,
    ),
    QueueSpec(name="media-results", purpose="media worker results: ids and technical data"),
    QueueSpec(
        name="media-results-poison",
        purpose="media results that failed five times",
        no_trigger_reason=POISON,
    ),
    *(
        QueueSpec(
            name=f"poll-votes-{n}{suffix}",
            purpose=purpose,
            no_trigger_reason=POISON if suffix else None,
        )
        for n in range(4)  # the poll vote queues N; shared.polls reads N from here
        for suffix, purpose in (
            ("", "poll fold nudges (ids only), shards n mod 4"),
            ("-poison", "poll fold nudges that failed five times"),
        )
    ),
    *(
        QueueSpec(
            name=f"tracking-{shard}{suffix}",
            purpose="viewer heartbeats (pseudonymous viewer id; participant id only when tied)",
            personal_data=True,
            no_trigger_reason=POISON if suffix else None,
        )
        for shard in range(8)  # the tracking queue shards N; shared.tracking reads N from here
        for suffix in ("", "-poison")
    ),
)


def cosmos_container_spec(name: str) -> CosmosContainerSpec:
    for spec in COSMOS_CONTAINERS:
        if spec.name == name:
            return spec
    raise KeyError(f"Cosmos container {name!r} is not in the store catalogue")


def blob_container_spec(name: str) -> BlobContainerSpec:
    for spec in BLOB_CONTAINERS:
        if spec.name == name:
            return spec
    raise KeyError(f"blob container {name!r} is not in the store catalogue")


def queue_spec(name: str) -> QueueSpec:
    for spec in QUEUES:
        if spec.name == name:
            return spec
    raise KeyError(f"queue {name!r} is not in the store catalogue")
