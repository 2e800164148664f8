"""A webcast project's deletion job, its counts per store and the receipt the owner keeps."""

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.audit.models import Actor
from shared.cosmos.repository import Document
from shared.text import InputModel


class DeletionReason(StrEnum):
    owner = "owner"  # the customer owner asked for it
    retention = "retention"  # the webcast's retention period ended
    account = "account"  # the whole customer account is being deleted


class DeletionState(StrEnum):
    queued = "queued"  # tombstoned; waits until every process's cache has let the webcast go
    waiting = "waiting"  # first sweep done; waits for work that may still be writing
    done = "done"
    failed = "failed"


class StoreCount(BaseModel):
    """One store after a sweep: what it deleted, what was left, what it keeps blocked."""

    deleted: int = 0
    remaining: int = 0
    kept_blocked: int = 0


class Sweep(BaseModel):
    at: str
    stores: dict[str, StoreCount]

    @property
    def remaining(self) -> int:
        return sum(count.remaining for count in self.stores.values())


class DeletionJob(Document):
    """Stored in the `deletions` container by tenant, under the webcast's id (one job per
    webcast). The id is in `project_id`, not in a `webcast_id` field: the sweep removes every
    document naming the webcast that way (this container is kept, but the name says why)."""

    doc_type = "webcast-deletion"

    tenant_id: str
    project_id: str
    project_slug: str
    reason: DeletionReason
    requested_by: Actor
    state: DeletionState = DeletionState.queued
    created_at: str
    updated_at: str
    first_sweep: Sweep | None = None
    second_sweep: Sweep | None = None
    second_sweep_due_at: str | None = None
    cdn_purged: list[str] = []
    finished_at: str | None = None
    failure: str | None = None
    attempts: int = 0
    # Backups and soft-deleted copies are gone this many days after the deletion.
    backup_window_days: int


class DeletionRequest(InputModel):
    """The owner types the webcast's slug back to confirm."""

    model_config = ConfigDict(extra="forbid")

    confirm_slug: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class DeletionView(BaseModel):
    id: str
    webcast_id: str
    webcast_slug: str
    reason: DeletionReason
    state: DeletionState
    created_at: str
    updated_at: str
    finished_at: str | None
    failure: str | None
    first_sweep: Sweep | None
    second_sweep: Sweep | None
    second_sweep_due_at: str | None
    backup_window_days: int
    backups_gone_by: str | None = Field(
        description="when the last backup or soft-deleted copy has expired (after the job ends)"
    )

    @classmethod
    def of(cls, job: DeletionJob, backups_gone_by: str | None) -> "DeletionView":
        return cls(
            id=job.id,
            webcast_id=job.project_id,
            webcast_slug=job.project_slug,
            reason=job.reason,
            state=job.state,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
            failure=job.failure,
            first_sweep=job.first_sweep,
            second_sweep=job.second_sweep,
            second_sweep_due_at=job.second_sweep_due_at,
            backup_window_days=job.backup_window_days,
            backups_gone_by=backups_gone_by,
        )


class DeletionKind(StrEnum):
    webcast = "webcast"  # a DeletionJob
    account = "account"  # an AccountDeletionJob


class DeletionMessage(BaseModel):
    """A queue message of the `deletions` queue: ids only; the job says what is due."""

    tenant_id: Annotated[str, StringConstraints(max_length=100)]
    job_id: Annotated[str, StringConstraints(max_length=100)]
    kind: DeletionKind = DeletionKind.webcast


class AccountDeletionState(StrEnum):
    queued = "queued"  # tombstoned; starts a webcast deletion for each webcast, a page a step
    waiting = "waiting"  # every webcast's deletion started; waits until they are all done
    done = "done"  # accounts, grants, sessions, logins and tokens erased; the log is kept
    failed = "failed"


class AccountDeletionJob(Document):
    """A customer account's deletion, one per tenant (`account-deletion:{tenant}`), in the
    `deletions` container: kept with the tenant's audit log until its retention ends, then
    purged with it (decision 0050). Ids and counts only."""

    doc_type = "account-deletion"

    tenant_id: str
    requested_by: Actor
    state: AccountDeletionState = AccountDeletionState.queued
    created_at: str
    updated_at: str
    webcasts_started: int = 0
    checks: int = 0
    # What the erasure deleted and what is left of the tenant per store (zero but for the log).
    erasure: Sweep | None = None
    finished_at: str | None = None
    failure: str | None = None
    backup_window_days: int
    audit_kept_until: str | None = None
    audit_purged: int = 0
    # The receipt's download secret, hashed: the owner has no session left to read it with.
    receipt_token_hash: str


class AccountDeletionRequest(InputModel):
    """The owner types the customer account's name back and gives their password again."""

    model_config = ConfigDict(extra="forbid")

    confirm_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class AccountDeletionView(BaseModel):
    """The account deletion's state and, once done, its receipt."""

    id: str
    tenant_id: str
    state: AccountDeletionState
    created_at: str
    updated_at: str
    webcasts_started: int
    erasure: Sweep | None
    finished_at: str | None
    failure: str | None
    backup_window_days: int
    backups_gone_by: str | None = Field(
        description="when the last backup or soft-deleted copy has expired (after the job ends)"
    )
    audit_kept_until: str | None = Field(
        description="until when the audit log and this record are kept as evidence, then purged"
    )


class AccountDeletionStarted(AccountDeletionView):
    receipt_token: str = Field(
        description="shown once: send it as X-Receipt-Token to read this deletion and its "
        "receipt (no session of the account is left) until the record is purged"
    )
