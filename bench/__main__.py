"""Run the benchmarks: `python -m bench` (all) or `python -m bench api_read signin ...`.

Each benchmark reports ratios against a baseline measured in the same run (the machines are
noisy, so absolute numbers only describe this run). Results go to bench/results/<name>.json.
"""

import argparse
import importlib
import platform
import sys
import traceback

from bench.common import Result, Stopwatch, nproc, table, write_result

BENCHMARKS = (
    "api_read",
    "signin",
    "cold_import",
    "participant_import",
    "webcast_deletion",
    "interaction",
    "media_transcode",
    "live_latency",
    "web",
    "page_images",
    "subject_requests",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {BENCHMARKS}")
    names = args.names or list(BENCHMARKS)
    watch = Stopwatch()
    results: list[Result] = []
    failed: list[str] = []
    for name in names:
        print(f"== {name} ...", flush=True)
        try:
            result: Result = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        path = write_result(result)
        results.append(result)
        print(table([result]))
        for problem in result.problems:
            print(f"PROBLEM: {problem}")
        print(
            f"({result.seconds:.1f} s, written to {path.relative_to(path.parents[2])})\n",
            flush=True,
        )
    print("== summary")
    print(f"nproc: {nproc()}   python: {platform.python_version()}   total: {watch.seconds:.0f} s")
    print(table(results))
    problems = [f"{r.name}: {p}" for r in results for p in r.problems]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
