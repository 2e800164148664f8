"""Run the security review: `python -m security` (see the package docstring)."""

import argparse
import json
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.emulators import free_port, isolated_stack
from security import checks, fuzz

ROOT = Path(__file__).resolve().parent.parent
# CPython before 3.11.8 can fail compiling on two threads at once ("AST constructor recursion
# depth mismatch", gh-106905), which schemathesis does while it generates: one at a time there.
WORKERS = 2 if sys.version_info >= (3, 11, 8) else 1
OUTPUT = ROOT / ".local" / "security"


def _git(*arguments: str) -> str:
    # A fixed git command in this repository.
    done = subprocess.run(  # noqa: S603
        ["git", *arguments],  # noqa: S607 - git from PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip()


def _report(
    *,
    started: float,
    arguments: argparse.Namespace,
    findings: fuzz.Findings,
    summary: dict[str, Any],
    others: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    conformance = {name: findings.failures[name] for name in fuzz.CONFORMANCE_CHECKS}
    server_errors = findings.failures[fuzz.SERVER_ERROR]
    passed = (
        server_errors == 0
        and not findings.errors
        and not any(conformance.values())
        and all(result["ok"] for result in others.values())
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "seconds": round(time.monotonic() - started, 1),
        "passed": passed,
        "settings": {
            "examples_per_operation": arguments.examples,
            "stateful_scenarios": arguments.scenarios,
            "stateful_steps": arguments.steps,
            "workers": arguments.workers,
        },
        "operations": summary["operations"],
        "destructive_operations": summary["destructive_operations"],
        "requests": dict(findings.requests) | {"fresh_owners": findings.fresh_owners},
        "phase_seconds": summary["phase_seconds"],
        "server_errors": server_errors,
        "conformance_failures": conformance,
        "cut_short": findings.cut_short,
        "notes": findings.notes,
        "runner_errors": findings.errors,
        "failures": findings.examples,
        **others,
    }


def _print(report: dict[str, Any]) -> None:
    print("== security summary")
    print(f"commit {report['commit'][:12]}{' (dirty)' if report['dirty'] else ''}")
    print(f"{report['operations']} operations, requests per phase: {report['requests']}")
    print(f"server errors: {report['server_errors']}")
    print(f"conformance failures: {report['conformance_failures']}")
    for name in ("ruff", "semgrep", "semgrep_rules", "tests"):
        result = report[name]
        figure = result.get("findings", result.get("summary"))
        print(f"{name}: {'ok' if result['ok'] else 'FAILED'} ({figure}, {result['seconds']} s)")
    for note in report["notes"]:
        print(f"note: {note}")
    for error in report["runner_errors"]:
        print(f"RUNNER ERROR: {error}")
    for check, lines in report["failures"].items():
        print(f"-- {check}: {report['conformance_failures'].get(check, '')}")
        for line in lines[:10]:
            print(f"   {line}")
    print(f"{'PASSED' if report['passed'] else 'FAILED'} in {report['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m security", description=__doc__)
    parser.add_argument(
        "--examples",
        type=int,
        default=100,
        help="examples per operation: a quarter anonymous, the rest signed in",
    )
    parser.add_argument("--scenarios", type=int, default=100, help="stateful scenarios")
    parser.add_argument("--steps", type=int, default=10, help="steps per stateful scenario")
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help="operations fuzzed at a time (threads)"
    )
    arguments = parser.parse_args(argv)
    started = time.monotonic()
    # Hypothesis watches the global `random` while it draws; with two operations on threads it
    # sees the app's request in the other thread (the audit shard) and warns. Nothing is wrong.
    warnings.filterwarnings("ignore", message="Do not use the `random` module inside strategies")
    children = checks.start_all(OUTPUT / "logs")
    extra = {"WEBCAST_SMTP_PORT": str(free_port()), "WEBCAST_ENABLE_API_DOCS": "true"}
    with isolated_stack(label="security", extra=extra):
        findings, summary = fuzz.run_all(
            examples=arguments.examples,
            scenarios=arguments.scenarios,
            steps=arguments.steps,
            workers=arguments.workers,
        )
    others = checks.collect(children)
    report = _report(
        started=started, arguments=arguments, findings=findings, summary=summary, others=others
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "last-run.json").write_text(json.dumps(report, indent=2) + "\n")
    _print(report)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
