"""Load generator for the HTTP benchmarks, run as its own process: N connections, fixed time.

python -m bench.loadgen URL --cookie VALUE --concurrency 16 --seconds 8 --warmup 1 --pid PID
python -m bench.loadgen URL --post BODY_JSON --sessions FILE --ok 202 ...

GET by default; with --post, a POST of that JSON body. With --sessions, a file of JSON lines
{"cookie": ..., "csrf": ...}: request i uses session i modulo their number (with its CSRF
token in X-CSRF-Token), so per-session limits and one-per-session rules see many viewers.
Prints one JSON object: requests, errors (any status not in --ok, or an exception), seconds,
requests per second, and the CPU seconds the processes (--pid) used in the measured window.
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
    *,
    body: str | None = None,
    sessions: list[dict[str, str]] | None = None,
    ok_statuses: frozenset[int] = frozenset({200}),
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counts = {"requests": 0, "errors": 0}
    statuses: dict[str, int] = {}
    measuring = False
    stop_at = 0.0
    sent = 0

    def request_headers() -> dict[str, str]:
        nonlocal sent
        sent += 1
        if not sessions:
            return {}
        session = sessions[sent % len(sessions)]
        return {"Cookie": session["cookie"], "X-CSRF-Token": session["csrf"]}

    async with httpx.AsyncClient(limits=limits, timeout=30.0, headers=headers) as client:

        async def worker() -> None:
            while True:
                now = time.perf_counter()
                if measuring and now >= stop_at:
                    return
                try:
                    extra = request_headers()
                    if body is None:
                        response = await client.get(url, headers=extra)
                    else:
                        extra["Content-Type"] = "application/json"
                        response = await client.post(url, content=body, headers=extra)
                    ok = response.status_code in ok_statuses
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
    parser.add_argument("--cookie", default="", help="full Cookie header value")
    parser.add_argument("--post", default=None, help="POST this JSON body instead of a GET")
    parser.add_argument("--sessions", default=None, help="JSON lines of cookie and csrf")
    parser.add_argument("--ok", type=int, action="append", default=[], help="good statuses")
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
    sessions = None
    if args.sessions:
        with open(args.sessions, encoding="utf-8") as handle:
            sessions = [json.loads(line) for line in handle if line.strip()]
    result = asyncio.run(
        _run(
            args.url,
            {"Cookie": args.cookie} if args.cookie else {},
            args.concurrency,
            args.seconds,
            args.warmup,
            args.pid,
            body=args.post,
            sessions=sessions,
            ok_statuses=frozenset(args.ok or [200]),
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
