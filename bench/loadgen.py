"""Load generator for api_read, run as its own process: N connections, fixed duration.

python -m bench.loadgen URL --cookie VALUE --concurrency 16 --seconds 8 --warmup 1 --pid PID

Prints one JSON object: requests, errors (any non-200 or exception), seconds, requests per
second, and the CPU seconds the server process (--pid) used during the measured window.
"""

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from bench.common import process_cpu_seconds


async def _run(
    url: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    warmup: float,
    pids: list[int],
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counts = {"requests": 0, "errors": 0}
    statuses: dict[str, int] = {}
    measuring = False
    stop_at = 0.0

    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers=headers) as client:

        async def worker() -> None:
            while True:
                now = time.perf_counter()
                if measuring and now >= stop_at:
                    return
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                    status = str(response.status_code)
                except httpx.HTTPError as error:
                    ok = False
                    status = type(error).__name__
                if measuring:
                    counts["requests"] += 1
                    if not ok:
                        counts["errors"] += 1
                        statuses[status] = statuses.get(status, 0) + 1

        tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(warmup)
        cpu_before = [process_cpu_seconds(pid) for pid in pids]
        started = time.perf_counter()
        stop_at = started + seconds
        measuring = True
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        cpu_after = [process_cpu_seconds(pid) for pid in pids]
    return {
        "requests": counts["requests"],
        "errors": counts["errors"],
        "error_statuses": statuses,
        "seconds": elapsed,
        "rps": counts["requests"] / elapsed,
        "cpu_seconds": [
            after - before for before, after in zip(cpu_before, cpu_after, strict=True)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--cookie", required=True, help="full Cookie header value")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--pid",
        type=int,
        action="append",
        default=[],
        help="processes whose CPU time to measure (server first)",
    )
    args = parser.parse_args()
    result = asyncio.run(
        _run(
            args.url, {"Cookie": args.cookie}, args.concurrency, args.seconds, args.warmup, args.pid
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
