"""signin: password sign-ins per second through shared.accounts.signin.sign_in, against argon2id.

The baseline is verify_password alone (the argon2id check that dominates a sign-in), measured
in the same run, sequentially and with 2 threads; hash_password alone is reported as well.
Every sign-in uses a correct password and its own client address, so throttling never
interferes. The blocks alternate and repeat for ROUNDS rounds; medians are reported,
and as ratio the median of the per-round ratios.
"""

import resource
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from typing import Any

from bench.common import Result, Row, Stopwatch, median, paired_ratio, stack

SIGN_INS = 30
THREADS = 2
ROUNDS = 3
PASSWORD = "correct horse battery staple"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(operations: list[Callable[[], Any]], threads: int) -> dict[str, float]:
    """Run the operations (sequentially, or spread over threads): per second and CPU each."""
    cpu_before = _cpu()
    started = time.perf_counter()
    if threads == 1:
        for operation in operations:
            operation()
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(operation) for operation in operations]:
                future.result()
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu_before
    return {
        "per_second": len(operations) / elapsed,
        "seconds": elapsed,
        "cpu_ms_each": cpu / len(operations) * 1000,
    }


def run() -> Result:
    watch = Stopwatch()
    with stack("signin"):
        from shared.accounts.service import create_tenant
        from shared.accounts.signin import sign_in
        from shared.audit.models import RequestContext
        from shared.auth.models import SessionStage
        from shared.auth.passwords import hash_password, verify_password

        emails = [f"bench-signin-{i}-{uuid.uuid4().hex[:8]}@example.org" for i in range(THREADS)]
        owners = [
            create_tenant(
                name=f"Bench customer {i}",
                owner_email=email,
                owner_name="Bench Owner",
                owner_password=PASSWORD,
            )[1]
            for i, email in enumerate(emails)
        ]
        stored_hash = owners[0].password_hash
        addresses = count(1)

        def one_sign_in(email: str) -> Callable[[], Any]:
            def operation() -> None:
                n = next(addresses)
                context = RequestContext(
                    request_id=uuid.uuid4().hex,
                    client_ip=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                )
                issued = sign_in(email=email, password=PASSWORD, context=context)
                if issued.session.stage != SessionStage.enroll:
                    raise RuntimeError(f"unexpected stage {issued.session.stage}")

            return operation

        def one_verify() -> None:
            if not verify_password(stored_hash, PASSWORD):
                raise RuntimeError("verify_password refused the correct password")

        def one_hash() -> None:
            hash_password(PASSWORD)

        # Warm up: clients, connections, the dummy hash, code paths.
        for email in emails:
            one_sign_in(email)()
        one_verify()
        one_hash()

        blocks: dict[str, list[dict[str, float]]] = {
            "sign_in_1": [],
            "verify_1": [],
            "sign_in_2": [],
            "verify_2": [],
            "hash_1": [],
        }
        for _ in range(ROUNDS):
            blocks["verify_1"].append(_timed([one_verify] * SIGN_INS, 1))
            blocks["sign_in_1"].append(_timed([one_sign_in(emails[0])] * SIGN_INS, 1))
            # With threads, each thread signs in its own account (as distinct users would).
            blocks["sign_in_2"].append(
                _timed([one_sign_in(emails[i % THREADS]) for i in range(SIGN_INS)], THREADS)
            )
            blocks["verify_2"].append(_timed([one_verify] * SIGN_INS, THREADS))
            blocks["hash_1"].append(_timed([one_hash] * SIGN_INS, 1))

    rate = {name: [b["per_second"] for b in runs] for name, runs in blocks.items()}
    cpu = {name: [b["cpu_ms_each"] for b in runs] for name, runs in blocks.items()}

    def row(
        metric: str, unit: str, ours: list[float], baseline: list[float], note: str = ""
    ) -> Row:
        return Row(
            metric,
            unit,
            median(ours),
            median(baseline),
            "verify_password alone",
            note,
            paired_ratio(ours, baseline),
        )

    rows = [
        row("sign-ins/s, sequential", "/s", rate["sign_in_1"], rate["verify_1"]),
        row(f"sign-ins/s, {THREADS} threads", "/s", rate["sign_in_2"], rate["verify_2"]),
        row(
            "CPU per sign-in, sequential",
            "ms CPU",
            cpu["sign_in_1"],
            cpu["verify_1"],
            "this process",
        ),
        row("hash_password/s, sequential", "/s", rate["hash_1"], rate["verify_1"]),
    ]
    details = {
        "sign_ins_per_block": SIGN_INS,
        "threads": THREADS,
        "rounds": ROUNDS,
        "blocks": blocks,
    }
    return Result("signin", rows, details, watch.seconds)
