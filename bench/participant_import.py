"""participant_import: a CSV import end to end against raw SDK upserts into the same emulator.

Rows:
- end to end: an E2E_ROWS-row CSV (no passwords) through the import worker (download,
  validation pass, write pass in chunks: one lookup query, transactional batches, one audit
  entry per chunk), rows/s, against two raw-SDK floors in the same emulator right after,
  with the same thread pool: `upsert_item` of one small document per row (what the issue
  names), and `execute_item_batch` creating the same two documents per row (login key and
  participant) 50 rows to a batch, as the worker does;
- parse + validate alone (the validation pass over the file), rows/s, against a bare
  `csv.reader` over the same file;
- peak memory of the worker process: end to end at E2E_SMALL and E2E_ROWS rows, and for the
  validation pass alone (a dry run, which reads the whole file) at SMALL and ROWS rows. Two
  measures: the peak of live Python memory (tracemalloc, in a second, traced run of the same
  size, so that tracing does not slow the timed one), which must stay flat, and the process's
  peak RSS, which glibc's per-thread arenas let creep up towards a ceiling (with
  PYTHONMALLOC=malloc MALLOC_ARENA_MAX=1 it stays flat too; see the run's details).
Each worker run is its own process (`python -m bench.participant_import --worker ...`).
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import PYTHON, ROOT, Result, Row, Stopwatch, seed_owner_and_webcast, stack

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
SMALL = int(os.environ.get("BENCH_IMPORT_SMALL_ROWS", "10000"))
E2E_ROWS = int(os.environ.get("BENCH_IMPORT_E2E_ROWS", "100000"))
E2E_SMALL = int(os.environ.get("BENCH_IMPORT_E2E_SMALL_ROWS", "10000"))
RAW_DOCS = int(os.environ.get("BENCH_IMPORT_RAW_DOCS", "5000"))
RAW_BATCH_ROWS = int(os.environ.get("BENCH_IMPORT_RAW_BATCH_ROWS", "20000"))
FORM = [
    {"id": "first_name", "type": "short_text", "label": "Vorname", "required": True},
    {"id": "last_name", "type": "short_text", "label": "Nachname"},
    {"id": "company", "type": "short_text", "label": "Firma"},
    {"id": "country", "type": "country", "label": "Land"},
]
MAPPING = {
    "E-Mail": "email",
    "Vorname": "first_name",
    "Nachname": "last_name",
    "Firma": "company",
    "Land": "country",
}
_FIRST = ["Jörg", "Zoë", "Anna", "Ben", "Çetin", "Eva", "Fynn", "Gül", "Hans", "Ida"]
_LAST = ["Müller", "Schäfer", "Weiß", "Öztürk", "Brandt", "Nguyen", "Kowalski", "Łukasz"]


def write_csv(path: Path, rows: int) -> None:
    """A German-Excel-style file: UTF-8 with BOM, semicolons."""
    chance = random.Random(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(list(MAPPING))
        for number in range(rows):
            writer.writerow(
                [
                    f"person{number:07d}@example.org",
                    chance.choice(_FIRST),
                    chance.choice(_LAST),
                    f"Firma {number % 997} GmbH & Co. KG",
                    chance.choice(["DE", "AT", "CH", "NL"]),
                ]
            )


def _seed() -> tuple[Any, Any]:
    """A tenant, its owner as a principal, and a webcast with a form (predefined passwords)."""
    from shared.participants.models import FormDefinition
    from shared.participants.service import save_form

    principal, context, webcast = seed_owner_and_webcast(
        {"title": "Import bench", "slug": "import", "participant_passwords": "predefined"}
    )
    save_form(
        principal=principal,
        webcast_id=webcast.id,
        definition=FormDefinition.model_validate({"fields": FORM}),
        context=context,
    )
    return principal, webcast


def _queued_job(principal: Any, webcast: Any, path: Path, *, dry_run: bool) -> Any:
    """A job with its file uploaded and started; the queue message is dropped, the worker
    process is handed the job's ids instead."""
    from shared.audit.models import RequestContext
    from shared.clients import blob_container_name, blob_service, queue_client
    from shared.participants.import_models import ImportCreate, ImportStart
    from shared.participants.imports import files, jobs

    context = RequestContext(client_ip="127.0.0.1")
    job, _ = jobs.create_import(
        principal=principal,
        webcast_id=webcast.id,
        data=ImportCreate(filename=path.name, size=path.stat().st_size),
        context=context,
    )
    blob = blob_service().get_blob_client(
        blob_container_name(files.CONTAINER), files.source_blob(job)
    )
    with path.open("rb") as handle:
        blob.upload_blob(handle, overwrite=True)
    job = jobs.start_import(
        principal=principal,
        webcast_id=webcast.id,
        job_id=job.id,
        data=ImportStart(mapping=MAPPING, dry_run=dry_run),
        context=context,
    )
    queue_client(jobs.QUEUE).clear_messages()
    return job


def _worker_process(
    job: Any, environment: dict[str, str], *, trace: bool = False
) -> dict[str, Any]:
    command = [
        PYTHON,
        "-m",
        "bench.participant_import",
        *(["--trace"] if trace else []),
        "--worker",
        job.tenant_id,
        job.webcast_id,
        job.id,
        str(job.run),
    ]
    done = subprocess.run(
        command, cwd=ROOT, env=os.environ | environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def worker(tenant_id: str, webcast_id: str, job_id: str, run: int, *, trace: bool) -> None:
    """In the worker process: handle the job's message, print time, peak memory, outcome."""
    from shared.participants.import_models import ImportMessage
    from shared.participants.imports import worker as import_worker
    from shared.participants.repository import import_jobs

    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    import_worker.handle_message(
        message=ImportMessage(tenant_id=tenant_id, webcast_id=webcast_id, job_id=job_id, run=run)
    )
    seconds = time.perf_counter() - started
    job = import_jobs.get(tenant_id=tenant_id, partition_key=webcast_id, item_id=job_id)
    assert job is not None
    print(
        json.dumps(
            {
                "seconds": seconds,
                "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "python_peak_mib": tracemalloc.get_traced_memory()[1] / 2**20 if trace else None,
                "status": job.status,
                "counts": job.counts.model_dump(),
                "failure": job.failure.model_dump() if job.failure else None,
            }
        )
    )


def _validate_in_process(path: Path, webcast: Any) -> float:
    from shared.participants.imports import rows
    from shared.participants.service import registration_form
    from shared.participants.tabular import detect, open_table

    fields = registration_form(tenant_id=webcast.tenant_id, webcast_id=webcast.id).fields
    started = time.perf_counter()
    source = detect(path, filename=path.name)
    table = open_table(path, source)
    validation = rows.validate_rows(table, rows.Plan(MAPPING, table.columns, fields))
    seconds = time.perf_counter() - started
    assert validation.counts.valid == validation.counts.rows, validation.errors[:3]
    return seconds


def _bare_csv(path: Path) -> float:
    started = time.perf_counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for _ in csv.reader(handle, delimiter=";"):
            pass
    return time.perf_counter() - started


def _raw_upserts(webcast_id: str, count: int, workers: int) -> float:
    from shared.clients import cosmos_container

    container = cosmos_container("participants")

    def upsert(number: int) -> None:
        container.upsert_item(
            {
                "id": f"raw-{number}",
                "webcast_id": webcast_id,
                "tenant_id": "bench",
                "type": "bench-raw",
                "email": f"raw{number}@example.org",
                "answers": {"first_name": "Jörg", "company": f"Firma {number}"},
            }
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(upsert, range(count)))
    return time.perf_counter() - started


def _raw_batches(webcast_id: str, rows: int, workers: int) -> float:
    """Two documents per row, 50 rows to a transactional batch, as the import writes them."""
    from shared.clients import cosmos_container

    container = cosmos_container("participants")

    def document(number: int, kind: str) -> dict[str, Any]:
        return {
            "id": f"raw-{kind}-{number}",
            "webcast_id": webcast_id,
            "tenant_id": "bench",
            "type": f"bench-raw-{kind}",
            "email": f"raw{number}@example.org",
            "answers": {"first_name": "Jörg", "company": f"Firma {number}"},
        }

    def batch(first: int) -> None:
        operations = [
            ("create", (document(number, kind),))
            for number in range(first, min(first + 50, rows))
            for kind in ("login", "person")
        ]
        container.execute_item_batch(operations, partition_key=webcast_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(batch, range(0, rows, 50)))
    return time.perf_counter() - started


def run() -> Result:
    from shared.participants.imports import worker as import_worker

    watch = Stopwatch()
    details: dict[str, Any] = {
        "rows": ROWS,
        "small_rows": SMALL,
        "e2e_rows": E2E_ROWS,
        "e2e_small_rows": E2E_SMALL,
        "raw_docs": RAW_DOCS,
        "raw_batch_rows": RAW_BATCH_ROWS,
        "write_workers": import_worker.WRITE_WORKERS,
    }
    problems: list[str] = []
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-import-") as folder:
        sizes = sorted({SMALL, ROWS, E2E_SMALL, E2E_ROWS})
        files = {n: Path(folder) / f"participants-{n}.csv" for n in sizes}
        for rows, path in files.items():
            write_csv(path, rows)
        details["file_mib"] = {n: round(p.stat().st_size / 2**20, 2) for n, p in files.items()}
        # Each end-to-end run gets fresh emulators, so that no run inherits another's data.
        for rows in (E2E_SMALL, E2E_ROWS):
            with stack("import") as env:
                principal, webcast = _seed()
                print(f"   end to end, {rows} rows ...", flush=True)
                job = _queued_job(principal, webcast, files[rows], dry_run=False)
                runs[f"import-{rows}"] = _worker_process(job, env)
                if rows == E2E_ROWS:
                    raw_seconds = _raw_upserts(webcast.id, RAW_DOCS, import_worker.WRITE_WORKERS)
                    raw_batch_seconds = _raw_batches(
                        webcast.id, RAW_BATCH_ROWS, import_worker.WRITE_WORKERS
                    )
                # The same import again, traced, into a second customer's new webcast.
                principal, webcast = _seed()
                traced = _queued_job(principal, webcast, files[rows], dry_run=False)
                runs[f"import-{rows}-traced"] = _worker_process(traced, env, trace=True)
        with stack("import") as env:
            principal, webcast = _seed()
            bare = _bare_csv(files[ROWS])
            validate = _validate_in_process(files[ROWS], webcast)
            for rows in (SMALL, ROWS):
                job = _queued_job(principal, webcast, files[rows], dry_run=True)
                runs[f"validate-{rows}"] = _worker_process(job, env, trace=True)
        details["runs"] = runs

    big, small = runs[f"import-{E2E_ROWS}"], runs[f"import-{E2E_SMALL}"]
    for name, outcome in runs.items():
        if outcome["status"] not in ("done", "validated"):
            problems.append(f"{name}: {outcome['status']} {outcome['failure']}")
    if big["counts"]["created"] + big["counts"]["updated"] != E2E_ROWS:
        problems.append(f"end to end wrote {big['counts']} of {E2E_ROWS} rows")
    heap = {
        "import": (runs[f"import-{E2E_SMALL}-traced"], runs[f"import-{E2E_ROWS}-traced"]),
        "validate": (runs[f"validate-{SMALL}"], runs[f"validate-{ROWS}"]),
    }
    for kind, (low, high) in heap.items():
        growth = high["python_peak_mib"] - low["python_peak_mib"]
        if growth > 16:
            problems.append(f"{kind}: live Python memory of the worker grew {growth:.0f} MiB")
    rows_out = [
        Row(
            f"import end to end, {E2E_ROWS:,} rows",
            "rows/s",
            E2E_ROWS / big["seconds"],
            RAW_DOCS / raw_seconds,
            f"raw upsert_item x{RAW_DOCS:,}, {import_worker.WRITE_WORKERS} threads",
            f"{big['seconds']:.0f} s",
        ),
        Row(
            f"import end to end, {E2E_ROWS:,} rows",
            "rows/s",
            E2E_ROWS / big["seconds"],
            RAW_BATCH_ROWS / raw_batch_seconds,
            f"raw execute_item_batch, 2 docs/row, 50 rows/batch, x{RAW_BATCH_ROWS:,} rows",
        ),
        Row(
            f"import end to end, {E2E_SMALL:,} rows",
            "rows/s",
            E2E_SMALL / small["seconds"],
            note=f"{small['seconds']:.0f} s",
        ),
        Row(
            f"parse + validate, {ROWS:,} rows",
            "rows/s",
            ROWS / validate,
            ROWS / bare,
            "bare csv.reader",
        ),
        Row(
            f"worker peak Python heap, import {E2E_SMALL:,} -> {E2E_ROWS:,}",
            "MiB",
            heap["import"][1]["python_peak_mib"],
            heap["import"][0]["python_peak_mib"],
            f"same at {E2E_SMALL:,} rows (tracemalloc)",
        ),
        Row(
            f"worker peak Python heap, dry run {SMALL:,} -> {ROWS:,}",
            "MiB",
            heap["validate"][1]["python_peak_mib"],
            heap["validate"][0]["python_peak_mib"],
            f"same at {SMALL:,} rows (tracemalloc)",
        ),
        Row(
            f"worker peak RSS, import {E2E_SMALL:,} -> {E2E_ROWS:,}",
            "MiB",
            big["max_rss_mib"],
            small["max_rss_mib"],
            f"same at {E2E_SMALL:,} rows",
        ),
    ]
    return Result("participant_import", rows_out, details, watch.seconds, problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.participant_import")
    parser.add_argument("--worker", nargs=4, metavar=("TENANT", "WEBCAST", "JOB", "RUN"))
    parser.add_argument("--trace", action="store_true", help="measure live Python memory")
    options = parser.parse_args(argv)
    if options.worker:
        tenant_id, webcast_id, job_id, run_number = options.worker
        worker(tenant_id, webcast_id, job_id, int(run_number), trace=options.trace)
        return 0
    from bench.common import table, write_result

    result = run()
    write_result(result)
    print(table([result]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
