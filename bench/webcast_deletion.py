"""webcast_deletion: deleting a webcast's data through the deletion job against raw SDK deletes.

Each timed run gets a fresh webcast seeded in bulk (transactional batches straight into the
containers, as the features store them): DOCS participants with their login keys, DOCS poll
votes in `{webcast}:{poll}:v{n}` and DOCS viewings in `{webcast}:t{shard}` (message votes are
left out: stored like poll votes, in shard partitions, they would add a quarter to every run
for no new kind of partition). Timed:
- ours: `deletions.service.start` (tombstone, job, queue message), then the job's first step
  as its queue handler runs it (`service.run`: sweep of every catalogued store, grant
  revocation, blob listing, the count of what is left, the job record), without the queue's
  visibility wait;
- baseline: the same documents seeded into a second webcast, deleted with the raw SDK: one
  cross-partition query of ids per seeded container, then `delete_item` with the sweep's
  thread count (`sweep.DELETE_WORKERS`).
Both run ROUNDS times in one emulator, alternating which goes first; documents/s of each and
the ratio ours/baseline per round. A run that leaves anything of its webcast, or deleted
fewer documents than were seeded, fails the benchmark.
DOCS is 20,000 (BENCH_DELETION_DOCS); `python -m bench.webcast_deletion --large`: 100,000.

Locally both sides are bound by the client: each `delete_item` costs ~3 ms of the SDK's CPU
(the emulator answers `Connection: close`, so every request opens a connection), ~270/s
with any thread count on 2 cores. And the emulator's query engine walks a container in
O(n^2) of its size (it copies an array per document), whatever the WHERE or partition: one
query over 20,000 documents takes ~10 s, over 40,000 (DOCS=20,000 participants with their
logins) ~60 s, near the SDK's 65 s read timeout: on a busy 2-core machine either side's
query of the participants can time out, and the benchmark fails. A run at DOCS=20,000 takes
~25 minutes there.
"""

import argparse
import hashlib
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from typing import Any

from bench.common import (
    Result,
    Row,
    Stopwatch,
    median,
    paired_ratio,
    process_cpu_seconds,
    seed_owner_and_webcast,
    stack,
)

DOCS = int(os.environ.get("BENCH_DELETION_DOCS", "20000"))
LARGE_DOCS = 100_000
ROUNDS = int(os.environ.get("BENCH_DELETION_ROUNDS", "2"))
SEED_WORKERS = 8
BATCH_SIZE = 100  # a transactional batch holds at most 100 operations
# The shard counts of the features' synthetic partitions (polls.repository.VOTE_SHARDS,
# tracking PARTITION_SHARDS): only the partitions' spread matters here.
POLL_VOTE_SHARDS = 32
VIEWING_SHARDS = 16
# The containers the seed writes to, with their partition key field.
SEEDED = {
    "participants": "webcast_id",
    "polls": "partition",
    "tracking": "partition",
}
# The baseline also deletes the webcast's own documents (the webcast, its key), as the job does.
RAW_DELETED = SEEDED | {"webcasts": "tenant_id", "webcast_keys": "id"}
KINDS = ("participant", "participant-login", "poll-vote", "viewing")


@dataclass
class Seeded:
    principal: Any
    context: Any
    tenant_id: str
    webcast_id: str
    documents: int


@dataclass
class Timed:
    seconds: float
    deleted: int
    client_cpu: float
    emulator_cpu: float


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _documents(tenant_id: str, webcast_id: str, count: int) -> list[tuple[str, dict[str, Any]]]:
    """(container, item) for every seeded document, shaped as the features store them."""
    from shared.clock import utc_iso
    from shared.participants.models import Participant, ParticipantLogin
    from shared.polls.models import Vote as PollVote
    from shared.tracking.models import Mode, Viewing

    moment = utc_iso()
    poll_id = uuid.uuid4().hex
    owner = {"tenant_id": tenant_id, "webcast_id": webcast_id}
    items: list[tuple[str, dict[str, Any]]] = []
    for number in range(count):
        participant_id = uuid.uuid4().hex
        email = f"person{number:07d}@example.org"
        participant = Participant(
            id=participant_id,
            email=email,
            name=f"Person {number}",
            answers={"first_name": "Jörg", "company": f"Firma {number % 997} GmbH"},
            source="import",
            search_text=f"{email} person {number}",
            created_at=moment,
            updated_at=moment,
            **owner,
        )
        login = ParticipantLogin(
            id=f"login:email:{_digest(f'{webcast_id}:{email}')}",
            participant_id=participant_id,
            **owner,
        )
        vote_key = _digest(f"{poll_id}:session-{number}")
        vote_shard = int(vote_key[:8], 16) % POLL_VOTE_SHARDS
        vote = PollVote(
            id=vote_key,
            poll_id=poll_id,
            partition=f"{webcast_id}:{poll_id}:v{vote_shard}",
            shard=vote_shard,
            answers={"q1": "a"},
            created_at=moment,
            **owner,
        )
        viewer = _digest(f"viewer-{number}")
        viewing = Viewing(
            id=f"live-{viewer}",
            partition=f"{webcast_id}:t{int(viewer[:8], 16) % VIEWING_SHARDS}",
            viewer_id=viewer,
            mode=Mode.live,
            slots=[(59_000_000 + number % 100, 59_000_040 + number % 100)],
            **owner,
        )
        items += [
            ("participants", participant.to_item()),
            ("participants", login.to_item()),
            ("polls", vote.to_item()),
            ("tracking", viewing.to_item()),
        ]
    return items


def _seed(count: int) -> Seeded:
    """A new customer's webcast, then its documents in transactional batches per partition."""
    from shared.clients import cosmos_container

    principal, context, webcast = seed_owner_and_webcast(
        {"title": "Deletion bench", "slug": f"deletion-{uuid.uuid4().hex[:8]}"}
    )
    partitions: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for container, item in _documents(webcast.tenant_id, webcast.id, count):
        partitions[(container, item[SEEDED[container]])].append(item)
    batches = [
        (container, key, chunk)
        for (container, key), items in partitions.items()
        for chunk in _chunks(items, BATCH_SIZE)
    ]

    def write(batch: tuple[str, str, list[dict[str, Any]]]) -> int:
        container, key, chunk = batch
        operations = [("create", (item,)) for item in chunk]
        cosmos_container(container).execute_item_batch(operations, partition_key=key)
        return len(chunk)

    with ThreadPoolExecutor(SEED_WORKERS) as pool:
        written = sum(pool.map(write, batches))
    return Seeded(principal, context, webcast.tenant_id, webcast.id, written)


def _chunks(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    source = iter(items)
    return list(iter(lambda: list(islice(source, size)), []))


def _timed(work: Callable[[], int]) -> Timed:
    emulator = int(os.environ["BENCH_COSMOS_PID"])
    cpu_before, emulator_before = time.process_time(), process_cpu_seconds(emulator)
    started = time.perf_counter()
    deleted = work()
    seconds = time.perf_counter() - started
    return Timed(
        seconds,
        deleted,
        time.process_time() - cpu_before,
        process_cpu_seconds(emulator) - emulator_before,
    )


def _platform_deletion(seeded: Seeded) -> int:
    """Start the deletion and run its first step as the queue handler would; documents
    deleted, by the job's own count."""
    from shared.deletions import service
    from shared.deletions.models import DeletionMessage, DeletionReason, DeletionState

    job = service.start(
        tenant_id=seeded.tenant_id,
        webcast_id=seeded.webcast_id,
        reason=DeletionReason.owner,
        actor=seeded.principal.actor,
        context=seeded.context,
    )
    if job is None:
        raise RuntimeError(f"no deletion started for webcast {seeded.webcast_id}")
    service.run(message=DeletionMessage(tenant_id=job.tenant_id, job_id=job.id))
    view = service.get_deletion(principal=seeded.principal, job_id=job.id)
    if view.state != DeletionState.waiting or view.first_sweep is None:
        raise RuntimeError(f"the deletion's first step left it {view.state}: {view.failure}")
    if view.first_sweep.remaining:
        raise RuntimeError(f"the job counted {view.first_sweep.remaining} documents left")
    return sum(
        count.deleted for name, count in view.first_sweep.stores.items() if name.startswith("co")
    )


def _raw_deletion(seeded: Seeded) -> int:
    """What a script with the bare SDK does: per container, query the ids, delete each."""
    from shared.clients import cosmos_container
    from shared.deletions.sweep import DELETE_WORKERS

    deleted = 0
    with ThreadPoolExecutor(DELETE_WORKERS) as pool:
        for name, field in RAW_DELETED.items():
            container = cosmos_container(name)
            # The webcast's documents lie in several partitions: the job's query spans them too.
            found = container.query_items(  # nosemgrep: cosmos-query-without-partition-key
                f"SELECT c.id, c.{field} AS pk FROM c "  # noqa: S608
                "WHERE c.webcast_id = @webcast OR c.id = @webcast",
                parameters=[{"name": "@webcast", "value": seeded.webcast_id}],
                enable_cross_partition_query=True,
            )
            keys = [(item["id"], item["pk"]) for item in found]

            def delete(key: tuple[str, str], container: Any = container) -> int:
                container.delete_item(key[0], partition_key=key[1])
                return 1

            deleted += sum(pool.map(delete, keys))
    return deleted


def _empty_sweep_seconds(seeded: Seeded) -> float:
    from shared.deletions.sweep import sweep

    started = time.perf_counter()
    counts = sweep(tenant_id=seeded.tenant_id, webcast_id=seeded.webcast_id)
    seconds = time.perf_counter() - started
    if any(count.deleted or count.remaining for count in counts.values()):
        raise RuntimeError(f"a second sweep found documents of the webcast: {counts}")
    return seconds


def _left(webcast_id: str) -> dict[str, int]:
    """Documents naming the webcast still in any swept container, by container."""
    from shared.clients import cosmos_container
    from shared.deletions.sweep import swept_containers

    left: dict[str, int] = {}
    for spec in swept_containers():
        container = cosmos_container(spec.name)
        # Across partitions on purpose: anything of the webcast, wherever it lies.
        counted = container.query_items(  # nosemgrep: cosmos-query-without-partition-key
            "SELECT VALUE COUNT(1) FROM c WHERE c.webcast_id = @webcast OR c.id = @webcast",
            parameters=[{"name": "@webcast", "value": webcast_id}],
            enable_cross_partition_query=True,
        )
        # COUNT answers numbers, not the documents the SDK's types name.
        found: Iterable[Any] = iter(counted)
        count = sum(int(value) for value in found)
        if count:
            left[spec.name] = count
    return left


def _one_run(kind: str, documents: int) -> dict[str, Any]:
    print(f"   {kind}: seeding {documents:,} of each kind ...", flush=True)
    seed_watch = Stopwatch()
    seeded = _seed(documents)
    seed_seconds = seed_watch.seconds
    work = _platform_deletion if kind == "ours" else _raw_deletion
    timed = _timed(lambda: work(seeded))
    left = _left(seeded.webcast_id)
    if left:
        raise RuntimeError(f"{kind}: documents of the webcast are left: {left}")
    if timed.deleted < seeded.documents:
        raise RuntimeError(f"{kind}: deleted {timed.deleted} of {seeded.documents} documents")
    outcome: dict[str, Any] = {}
    if kind == "ours":
        # A sweep that finds nothing: the job's fixed cost (queries and counts in every
        # catalogued container, grant scan, blob listings), apart from the deletes.
        outcome["empty_sweep_seconds"] = round(_empty_sweep_seconds(seeded), 3)
    print(
        f"   {kind}: {timed.deleted:,} documents in {timed.seconds:.1f} s "
        f"({timed.deleted / timed.seconds:,.0f}/s; seeded {seeded.documents:,} "
        f"in {seed_seconds:.1f} s)",
        flush=True,
    )
    return outcome | {
        "seeded": seeded.documents,
        "seed_seconds": round(seed_seconds, 2),
        "deleted": timed.deleted,
        "seconds": round(timed.seconds, 3),
        "docs_per_second": round(timed.deleted / timed.seconds, 1),
        "client_cpu_seconds": round(timed.client_cpu, 2),
        "emulator_cpu_seconds": round(timed.emulator_cpu, 2),
    }


def run(documents: int = DOCS) -> Result:
    from shared.clients import queue_client
    from shared.deletions.service import QUEUE
    from shared.deletions.sweep import DELETE_WORKERS

    watch = Stopwatch()
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    with stack("deletion"):
        for round_index in range(ROUNDS):
            # Alternate the order each round so neither side always runs first.
            order = ["baseline", "ours"] if round_index % 2 == 0 else ["ours", "baseline"]
            print(f"   round {round_index + 1}: {' then '.join(order)}", flush=True)
            for kind in order:
                runs[kind].append(_one_run(kind, documents))
        # Nothing reads the job's queue here; its messages go with the emulators.
        queue_client(QUEUE).clear_messages()
    rates = {kind: [r["docs_per_second"] for r in runs[kind]] for kind in runs}
    seconds = {kind: [r["seconds"] for r in runs[kind]] for kind in runs}
    pairs = zip(rates["ours"], rates["baseline"], strict=True)
    per_round = [round(ours / baseline, 3) for ours, baseline in pairs]
    rows = [
        Row(
            f"webcast deletion, {documents:,} x {len(KINDS)} kinds of documents",
            "docs/s",
            median(rates["ours"]),
            median(rates["baseline"]),
            f"raw SDK query + delete_item, {DELETE_WORKERS} threads",
            "per round: " + ", ".join(f"{ratio:.2f}x" for ratio in per_round),
            paired_ratio(rates["ours"], rates["baseline"]),
        ),
        Row(
            "webcast deletion, wall time",
            "s",
            median(seconds["ours"]),
            median(seconds["baseline"]),
            "raw SDK",
        ),
        # CPU per document is steadier than wall time while other work shares the machine.
        *(
            Row(
                f"{side} CPU per document deleted",
                "ms CPU",
                median(cpu["ours"]),
                median(cpu["baseline"]),
                "raw SDK",
                note,
                paired_ratio(cpu["ours"], cpu["baseline"]),
            )
            for side, key, note in (
                ("client", "client_cpu_seconds", "this process, all threads"),
                ("emulator", "emulator_cpu_seconds", "cosmosdb-server"),
            )
            for cpu in [{kind: [r[key] / r["deleted"] * 1000 for r in runs[kind]] for kind in runs}]
        ),
        Row(
            "a sweep that finds nothing (the job's fixed cost)",
            "s",
            median([r["empty_sweep_seconds"] for r in runs["ours"]]),
            note="queries and counts in every catalogued container, blob listings",
        ),
    ]
    details = {
        "documents_per_kind": documents,
        "kinds": KINDS,
        "rounds": ROUNDS,
        "delete_workers": DELETE_WORKERS,
        "ratio_per_round": per_round,
        "runs": runs,
    }
    return Result("webcast_deletion", rows, details, watch.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webcast_deletion")
    parser.add_argument(
        "--large", action="store_true", help=f"{LARGE_DOCS:,} documents of each kind"
    )
    options = parser.parse_args(argv)
    from bench.common import table, write_result

    result = run(LARGE_DOCS if options.large else DOCS)
    write_result(result)
    print(table([result]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
