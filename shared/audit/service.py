"""Append-only, hash-chained audit log, partitioned per tenant and month.

Each tenant writes into several chains a day (shards), so that concurrent writers seldom
meet; an entry's id is its chain and sequence number, so two writers can never both
append the same link: the loser gets a conflict and retries on the new head.
"""

import csv
import hashlib
import io
import json
import random
import threading
from collections.abc import Iterator

from azure.cosmos import exceptions as cosmos_errors

from shared.audit.models import (
    ADMIN_SIDE,
    Actor,
    AuditEntry,
    AuditFilter,
    ChainHead,
    RequestContext,
    VerifyReport,
    moment,
)
from shared.audit.repository import entries, heads
from shared.clock import utc_iso
from shared.config import get_settings
from shared.cosmos.repository import Page
from shared.errors import DomainError, validation_error
from shared.spreadsheet import safe_cell

GENESIS = "0" * 64
_MAX_APPEND_ATTEMPTS = 20

_chain_tips: dict[str, tuple[int, str]] = {}
_chain_heads: dict[str, ChainHead] = {}
_chain_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def partition_for(tenant_id: str, at: str) -> str:
    return f"{tenant_id}:{at[:7]}"


def _hashed_fields(entry: AuditEntry) -> str:
    unhashed = {"etag", "hash", "client_ip", "blocked_at"}
    if entry.entity_ids is None:
        unhashed.add("entity_ids")
    if entry.store_counts is None:
        unhashed.add("store_counts")
    body = entry.model_dump(mode="json", exclude=unhashed)
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_hashed_fields(entry).encode()).hexdigest()


def _lock_for(chain: str) -> threading.Lock:
    with _locks_guard:
        return _chain_locks.setdefault(chain, threading.Lock())


def _read_tip(partition: str, tenant_id: str, chain: str) -> tuple[int, str]:
    last = next(
        entries.iterate(
            tenant_id=tenant_id,
            partition_key=partition,
            where="c.chain = @chain",
            parameters={"@chain": chain},
            order_by="c.seq DESC",
            include_blocked=True,
        ),
        None,
    )
    return (last.seq, last.hash) if last else (0, GENESIS)


def _advance_head(entry: AuditEntry) -> None:
    """Move the chain's head to this entry unless a later entry moved it already.

    An etag-guarded replace of the head this process saw last (a point read first when it
    has none): a filtered patch would be one call, but the local emulator runs the filter
    as a scan of the whole container."""
    head = _chain_heads.get(entry.chain)
    for _ in range(_MAX_APPEND_ATTEMPTS):
        if head is None:
            head = heads.get(
                tenant_id=entry.tenant_id,
                partition_key=entry.partition,
                item_id=f"head:{entry.chain}",
            )
        if head is None:
            created = ChainHead(
                id=f"head:{entry.chain}",
                partition=entry.partition,
                tenant_id=entry.tenant_id,
                chain=entry.chain,
                seq=entry.seq,
                hash=entry.hash,
            )
            try:
                _chain_heads[entry.chain] = heads.create(tenant_id=entry.tenant_id, item=created)
                return
            except DomainError:
                continue
        if head.seq >= entry.seq:
            return
        moved = head.model_copy(update={"seq": entry.seq, "hash": entry.hash})
        try:
            _chain_heads[entry.chain] = heads.replace(tenant_id=entry.tenant_id, item=moved)
            return
        except DomainError:
            head = None


def record(
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: str | None = None,
    entity_ids: list[str] | None = None,
    store_counts: dict[str, list[int]] | None = None,
    changed_fields: list[str] | None = None,
    outcome: str = "success",
    context: RequestContext | None = None,
    at: str | None = None,
) -> AuditEntry:
    """Append one entry to the tenant's audit log (`entity_ids` for a write of many).

    `at` is the time of the write when a later pass appends an entry that failed then."""
    context = context or RequestContext()
    at = at or utc_iso()
    partition = partition_for(tenant_id, at)
    shard = random.randrange(get_settings().audit_shards)  # noqa: S311 - spreads load, guards nothing
    chain = f"{tenant_id}:{at[:10]}:{shard}"
    client_ip = context.client_ip if actor.kind in ADMIN_SIDE else None
    with _lock_for(chain):
        tip = _chain_tips.get(chain) or _read_tip(partition, tenant_id, chain)
        for _ in range(_MAX_APPEND_ATTEMPTS):
            seq, prev_hash = tip
            entry = AuditEntry(
                id=f"{chain}:{seq + 1:010d}",
                partition=partition,
                tenant_id=tenant_id,
                chain=chain,
                seq=seq + 1,
                at=at,
                actor_kind=actor.kind,
                actor_id=actor.id,
                actor_role=actor.role,
                actor_home_tenant_id=actor.home_tenant_id,
                action=action,
                entity_type=entity_type,
                entity_id=entity_id,
                entity_ids=entity_ids,
                store_counts=store_counts,
                changed_fields=sorted(set(changed_fields or [])),
                outcome=outcome,
                request_id=context.request_id,
                client_ip=client_ip,
                prev_hash=prev_hash,
            )
            entry.hash = compute_hash(entry)
            try:
                stored = entries.container.create_item(entry.to_item())
            except cosmos_errors.CosmosResourceExistsError:
                tip = _read_tip(partition, tenant_id, chain)
                continue
            _chain_tips[chain] = (entry.seq, entry.hash)
            _advance_head(entry)
            return AuditEntry.model_validate(stored)
    raise RuntimeError(f"could not append to audit chain {chain}")


MAX_VERIFY_MONTHS = 13


def _moment_of(name: str, value: str | None) -> str | None:
    try:
        return moment(value) if value else None
    except ValueError as error:
        raise validation_error(name, str(error)) from error


def period_months(
    *, tenant_id: str, since: str | None, until: str | None, opened_at: str | None = None
) -> list[str]:
    """The months ('2026-01') of a period, clamped to now and to `opened_at`, when the tenant
    was created (the caller asks accounts: the log lies below every feature that writes it).

    Without `since` the period is the month it ends in."""
    since, until = _moment_of("since", since), _moment_of("until", until)
    current = utc_iso()
    end = min(until, current) if until else current
    start = since or end[:7]
    if opened_at:
        start = max(start, opened_at)
    months = []
    year, month = int(start[:4]), int(start[5:7])
    while (label := f"{year:04d}-{month:02d}") <= end[:7]:
        months.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _filter_clause(query: AuditFilter) -> tuple[str, dict[str, object]]:
    clauses: list[str] = []
    params: dict[str, object] = {}
    for field in ("actor_id", "action", "entity_type"):
        value = getattr(query, field)
        if value:
            clauses.append(f"c.{field} = @{field}")
            params[f"@{field}"] = value
    if query.entity_id:
        clauses.append("(c.entity_id = @entity_id OR ARRAY_CONTAINS(c.entity_ids, @entity_id))")
        params["@entity_id"] = query.entity_id
    if query.since:
        clauses.append("c.at >= @since")
        params["@since"] = query.since
    if query.until:
        clauses.append("c.at <= @until")
        params["@until"] = query.until
    return " AND ".join(clauses), params


def list_entries(
    *,
    tenant_id: str,
    query: AuditFilter,
    max_items: int = 100,
    continuation: str | None = None,
    opened_at: str | None = None,
) -> Page[AuditEntry]:
    """One page of entries, newest month first; the continuation names month and page."""
    months = period_months(
        tenant_id=tenant_id, since=query.since, until=query.until, opened_at=opened_at
    )
    months.reverse()
    month_index, inner = 0, None
    if continuation:
        prefix, _, rest = continuation.partition("|")
        if not prefix.isdecimal() or int(prefix) >= len(months):
            raise validation_error("continuation", "is not a continuation token of this list")
        month_index, inner = int(prefix), rest or None
    where, params = _filter_clause(query)
    while month_index < len(months):
        page = entries.page(
            tenant_id=tenant_id,
            partition_key=f"{tenant_id}:{months[month_index]}",
            max_items=max_items,
            continuation=inner,
            where=where,
            parameters=params,
            order_by="c.at DESC",
        )
        if page.continuation:
            return Page(items=page.items, continuation=f"{month_index}|{page.continuation}")
        month_index, inner = month_index + 1, None
        if page.items:
            more = f"{month_index}|" if month_index < len(months) else None
            return Page(items=page.items, continuation=more)
    return Page(items=[], continuation=None)


def iterate_entries(
    *, tenant_id: str, query: AuditFilter, opened_at: str | None = None
) -> Iterator[AuditEntry]:
    """The matching entries, newest month first; a bad period is refused before the first."""
    where, params = _filter_clause(query)
    months = period_months(
        tenant_id=tenant_id, since=query.since, until=query.until, opened_at=opened_at
    )
    return (
        entry
        for month in reversed(months)
        for entry in entries.iterate(
            tenant_id=tenant_id,
            partition_key=f"{tenant_id}:{month}",
            where=where,
            parameters=params,
            order_by="c.at DESC",
        )
    )


CSV_COLUMNS = (
    "at",
    "actor_kind",
    "actor_id",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "entity_ids",
    "changed_fields",
    "outcome",
    "request_id",
    "client_ip",
    "id",
    "hash",
)


def export_csv(
    *,
    tenant_id: str,
    query: AuditFilter,
    actor: Actor,
    context: RequestContext,
    opened_at: str | None = None,
) -> Iterator[str]:
    """The filtered log as CSV, row by row, with formula-looking cells neutralised.

    The export itself is logged first (decision 0031): it copies admins' ids and addresses."""
    entries_to_export = iterate_entries(tenant_id=tenant_id, query=query, opened_at=opened_at)
    record(
        tenant_id=tenant_id,
        actor=actor,
        action="audit.export",
        entity_type="audit",
        entity_id=tenant_id,
        context=context,
    )
    return _csv_rows(entries_to_export)


def _csv_rows(rows: Iterator[AuditEntry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for entry in rows:
        row = entry.model_dump(mode="json")
        row["changed_fields"] = " ".join(entry.changed_fields)
        row["entity_ids"] = " ".join(entry.entity_ids or [])
        writer.writerow([safe_cell(row.get(column)) for column in CSV_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def verify(
    *,
    tenant_id: str,
    since: str | None = None,
    until: str | None = None,
    opened_at: str | None = None,
) -> VerifyReport:
    """Recompute every chain of the tenant in the period: a changed or removed entry shows.

    A call covers at most 13 months (reading every entry); longer periods go month by month."""
    months = period_months(tenant_id=tenant_id, since=since, until=until, opened_at=opened_at)
    if len(months) > MAX_VERIFY_MONTHS:
        raise validation_error(
            "since",
            f"one verification covers at most {MAX_VERIFY_MONTHS} months, not {len(months)}; "
            "verify longer periods month by month",
        )
    problems: list[str] = []
    checked = 0
    chains: set[str] = set()
    for month in months:
        partition = f"{tenant_id}:{month}"
        by_chain: dict[str, list[AuditEntry]] = {}
        for entry in entries.iterate(
            tenant_id=tenant_id, partition_key=partition, order_by="c.id", include_blocked=True
        ):
            by_chain.setdefault(entry.chain, []).append(entry)
        chain_heads = {
            head.chain: head for head in heads.iterate(tenant_id=tenant_id, partition_key=partition)
        }
        for chain in sorted(set(by_chain) | set(chain_heads)):
            chains.add(chain)
            expected_seq, prev_hash = 1, GENESIS
            for entry in by_chain.get(chain, []):
                checked += 1
                if entry.seq != expected_seq:
                    problems.append(f"{chain}: entry {expected_seq} is missing")
                if entry.prev_hash != prev_hash:
                    problems.append(f"{chain}: entry {entry.seq} does not link to its predecessor")
                if compute_hash(entry) != entry.hash:
                    problems.append(f"{chain}: entry {entry.seq} was changed")
                expected_seq, prev_hash = entry.seq + 1, entry.hash
            head = chain_heads.get(chain)
            if head and head.seq >= expected_seq:
                problems.append(f"{chain}: entries after {expected_seq - 1} are missing")
    return VerifyReport(
        ok=not problems, entries_checked=checked, chains_checked=len(chains), problems=problems
    )
