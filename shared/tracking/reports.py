"""Attendance reports, computed when read from the webcast's shard partitions.

Access: the aggregate report holds no per-person data, so any admin account of the tenant may
read it (`require_member`: owner, sub-accounts, support under a grant). Per-viewer rows and
their exports hold per-person durations (per participant when tied, P17), so they need the
`participants` permission (`require_permission(..., Permission.participants, write=False)`),
as the participant list does.
"""

import hashlib
import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.audit import operations
from shared.audit.models import RequestContext
from shared.auth.models import Permission, Principal
from shared.clock import now, utc_iso
from shared.errors import DomainError
from shared.spreadsheet import ExportFile, ExportFormat, export_file, safe_cell
from shared.tracking import slots
from shared.tracking.models import (
    AttendanceReport,
    MinuteCount,
    Mode,
    ReportSnapshot,
    SlotRange,
    ViewerList,
    ViewerRow,
    Viewing,
)
from shared.tracking.repository import report_partition, shard_partitions, snapshots, viewings
from shared.tracking.settings import SLOT_SECONDS, tracking_settings
from shared.webcasts.models import Webcast
from shared.webcasts.service import MEMBER, admin_webcast

SLOTS_PER_MINUTE = 60 // SLOT_SECONDS
SNAPSHOT_ID = "report"
# The report frozen before the participant data goes; created once, never recomputed.
FROZEN_ID = "report-frozen"
MAX_SNAPSHOT_CHARS = 1_500_000


@dataclass
class _Viewer:
    """One key's watching: slot ranges per mode and the participant behind it, if tied."""

    participant_id: str | None = None
    modes: dict[Mode, list[SlotRange]] = field(default_factory=dict)

    def add(self, viewing: Viewing) -> None:
        self.modes[viewing.mode] = slots.merge([*self.modes.get(viewing.mode, []), *viewing.slots])
        self.participant_id = self.participant_id or viewing.participant_id

    def seconds(self, mode: Mode) -> int:
        return slots.size(self.modes.get(mode, [])) * SLOT_SECONDS

    def all_slots(self) -> list[SlotRange]:
        return slots.merge(r for ranges in self.modes.values() for r in ranges)


def _partition_viewers(
    webcast: Webcast, partition: str, *, by_participant: bool
) -> dict[str, _Viewer]:
    """The viewers of one shard partition; one participant's sessions share a shard."""
    found: dict[str, _Viewer] = defaultdict(_Viewer)
    for viewing in viewings.iterate(tenant_id=webcast.tenant_id, partition_key=partition):
        key = (by_participant and viewing.participant_id) or viewing.viewer_id
        found[key].add(viewing)
    return found


def _minute(index: int) -> str:
    return utc_iso(index * 60.0)


def _iso(slot: int) -> str:
    return datetime.fromtimestamp(slot * SLOT_SECONDS, tz=UTC).isoformat().replace("+00:00", "Z")


def compute_report(webcast: Webcast) -> AttendanceReport:
    """Every figure from the viewing documents; concurrency via per-minute difference counts."""
    changes: dict[str, dict[int, int]] = {
        "all": defaultdict(int),
        "live": defaultdict(int),
        "vod": defaultdict(int),
    }
    watched: list[int] = []
    live_seconds = vod_seconds = 0
    participants: set[str] = set()
    for partition in shard_partitions(webcast.id):
        for viewer in _partition_viewers(webcast, partition, by_participant=False).values():
            if viewer.participant_id:
                participants.add(viewer.participant_id)
            live_seconds += viewer.seconds(Mode.live)
            vod_seconds += viewer.seconds(Mode.vod)
            watched.append(viewer.seconds(Mode.live) + viewer.seconds(Mode.vod))
            series = [("all", viewer.all_slots())] + [
                (mode.value, viewer.modes.get(mode, [])) for mode in Mode
            ]
            for name, ranges in series:
                for first, last in slots.scale(ranges, SLOTS_PER_MINUTE):
                    changes[name][first] += 1
                    changes[name][last + 1] -= 1
    per_minute = _per_minute(changes)
    peak = max(per_minute, key=lambda m: m.viewers, default=None)
    tied = webcast.privacy.attendance_tied_to_participant
    return AttendanceReport(
        webcast_id=webcast.id,
        generated_at=utc_iso(),
        unique_viewers=len(watched),
        unique_participants=len(participants) if tied else None,
        peak_concurrent_viewers=peak.viewers if peak else 0,
        peak_minute=peak.minute if peak else None,
        average_watch_seconds=round(statistics.fmean(watched), 1) if watched else 0.0,
        median_watch_seconds=float(statistics.median(watched)) if watched else 0.0,
        live_minutes=round(live_seconds / 60, 1),
        vod_minutes=round(vod_seconds / 60, 1),
        slot_seconds=SLOT_SECONDS,
        per_minute=per_minute,
    )


def _per_minute(changes: dict[str, dict[int, int]]) -> list[MinuteCount]:
    """Every minute with viewers (in order), from running sums of the changes."""
    keys = changes["all"]
    if not keys:
        return []
    running = {name: 0 for name in changes}
    result = []
    for minute in range(min(keys), max(keys)):
        for name in changes:
            running[name] += changes[name].get(minute, 0)
        if not running["all"]:
            continue  # left out, so weeks of on-demand viewing stay a short list
        result.append(
            MinuteCount(
                minute=_minute(minute),
                viewers=running["all"],
                live=running["live"],
                vod=running["vod"],
            )
        )
    return result


def _tag(report: AttendanceReport) -> str:
    """Changes when a figure changes, not when only the generation time does."""
    body = report.model_dump_json(exclude={"generated_at"})
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def read_report(*, principal: Principal, webcast_id: str) -> tuple[AttendanceReport, str]:
    """The report and its entity tag; recomputed when the cached one is older than the limit."""
    webcast = admin_webcast(principal, webcast_id, needs=MEMBER, write=False)
    tenant_id = webcast.tenant_id
    partition = report_partition(webcast.id)
    frozen = frozen_report(webcast)
    if frozen is not None:
        return frozen.report, frozen.tag
    cached = snapshots.get(tenant_id=tenant_id, item_id=SNAPSHOT_ID, partition_key=partition)
    max_age = tracking_settings().report_max_age_seconds
    if cached is not None and now() - cached.computed_at < max_age:
        return cached.report, cached.tag
    report = compute_report(webcast)
    tag = _tag(report)
    if len(report.model_dump_json()) > MAX_SNAPSHOT_CHARS:
        return report, tag  # too large for one Cosmos item (2 MB): computed on every read
    snapshots.upsert(
        tenant_id=tenant_id,
        item=ReportSnapshot(
            id=SNAPSHOT_ID,
            tenant_id=tenant_id,
            webcast_id=webcast.id,
            partition=partition,
            computed_at=now(),
            tag=tag,
            report=report,
        ),
    )
    return report, tag


def frozen_report(webcast: Webcast) -> ReportSnapshot | None:
    return snapshots.get(
        tenant_id=webcast.tenant_id, item_id=FROZEN_ID, partition_key=report_partition(webcast.id)
    )


def freeze_report(webcast: Webcast) -> ReportSnapshot:
    """Compute the aggregate report once more and keep it for good, before the viewing
    documents are erased; the frozen one if there is one already (a repeated run)."""
    frozen = frozen_report(webcast)
    if frozen is not None:
        return frozen
    report = compute_report(webcast).model_copy(update={"frozen_at": utc_iso()})
    if len(report.model_dump_json()) > MAX_SNAPSHOT_CHARS:
        # The erasure must not go ahead without its report; the minute series is what grows.
        raise ValueError(f"the attendance report of webcast {webcast.id} is too large to freeze")
    snapshot = ReportSnapshot(
        id=FROZEN_ID,
        tenant_id=webcast.tenant_id,
        webcast_id=webcast.id,
        partition=report_partition(webcast.id),
        computed_at=now(),
        tag=_tag(report),
        report=report,
    )
    try:
        return snapshots.create(tenant_id=webcast.tenant_id, item=snapshot)
    except DomainError as error:
        if error.status != 409:
            raise
        return frozen_report(webcast) or snapshot  # frozen meanwhile by another run


def _rows(webcast: Webcast) -> Iterator[ViewerRow]:
    """Per viewer session; per participant (over its sessions) while tied (P17)."""
    tied = webcast.privacy.attendance_tied_to_participant
    for partition in shard_partitions(webcast.id):
        viewers = _partition_viewers(webcast, partition, by_participant=tied)
        for key, viewer in sorted(viewers.items()):
            every = viewer.all_slots()
            if not every:
                continue
            live, vod = viewer.seconds(Mode.live), viewer.seconds(Mode.vod)
            yield ViewerRow(
                viewer=key,
                participant_id=viewer.participant_id if tied else None,
                first_seen=_iso(every[0][0]),
                last_seen=_iso(every[-1][1] + 1),
                live_seconds=live,
                vod_seconds=vod,
                watched_seconds=live + vod,
            )


def list_viewers(*, principal: Principal, webcast_id: str) -> ViewerList:
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    return ViewerList(
        webcast_id=webcast.id,
        tied_to_participant=webcast.privacy.attendance_tied_to_participant,
        rows=list(_rows(webcast)),
    )


def _header(tied: bool) -> list[str]:
    first = ["Participant"] if tied else ["Viewer (pseudonymous, per session)"]
    return [
        *first,
        "First seen",
        "Last seen",
        "Live seconds",
        "On-demand seconds",
        "Watched seconds",
    ]


def _cells(row: ViewerRow) -> list[str]:
    values = (
        row.viewer,
        row.first_seen,
        row.last_seen,
        row.live_seconds,
        row.vod_seconds,
        row.watched_seconds,
    )
    return [safe_cell(v) for v in values]


def export_viewers(
    *, principal: Principal, webcast_id: str, file_format: ExportFormat, context: RequestContext
) -> ExportFile:
    """Per-viewer rows as a stream; permission checked and the export audited first."""
    webcast = admin_webcast(principal, webcast_id, needs=Permission.participants, write=False)
    tenant_id = webcast.tenant_id
    tied = webcast.privacy.attendance_tied_to_participant
    operations.record_event(
        tenant_id=tenant_id,
        actor=principal.actor,
        action="attendance.export",
        entity_type="webcast",
        entity_id=webcast.id,
        changed_fields=["participant_id" if tied else "viewer", "seconds"],
        context=context,
    )
    rows = (_cells(row) for row in _rows(webcast))
    return export_file(
        filename=f"attendance-{webcast.slug}.{file_format}",
        file_format=file_format,
        header=_header(tied),
        rows=rows,
        sheet="Attendance",
    )
