"""The other checks of `make security`, run as child processes beside the fuzzing: ruff's
security rules, the project's semgrep rules and the make-test files of the security review."""

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEMGREP = ROOT / ".local" / "tools" / "semgrep" / "bin" / "semgrep"
# No metrics and no version check: the review sends nothing anywhere.
SEMGREP_FLAGS = ("--metrics=off", "--disable-version-check")
# The isolation matrices (routes, queues) and the hostile-input corpus, also in make test.
TEST_FILES = (
    "tests/integration/test_isolation.py",
    "tests/integration/test_isolation_queues.py",
    "tests/integration/test_hostile_inputs.py",
)


@dataclass
class Child:
    """A started check: its name, command, process and where its output goes."""

    name: str
    command: list[str]
    process: "subprocess.Popen[bytes]"
    output: Path
    started: float

    ended: float | None = None

    def watch(self) -> None:
        """Note when the process ends (collect() waits for all of them only at the end)."""
        self.process.wait()
        self.ended = time.monotonic()

    def finish(self) -> tuple[int, float, str]:
        code = self.process.wait()
        ended = self.ended if self.ended is not None else time.monotonic()
        return code, round(ended - self.started, 1), self.output.read_text()


def start(name: str, command: list[str], log_dir: Path) -> Child:
    output = log_dir / f"{name}.log"
    if not Path(command[0]).exists():
        command = [
            sys.executable,
            "-c",
            f"raise SystemExit('{command[0]} is missing: make security')",
        ]
    with output.open("wb") as handle:
        # The commands are fixed lists of this module's paths, never a shell.
        process = subprocess.Popen(  # noqa: S603
            command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT
        )
    child = Child(name, command, process, output, time.monotonic())
    threading.Thread(target=child.watch, name=f"watch-{name}", daemon=True).start()
    return child


def start_all(log_dir: Path) -> list[Child]:
    log_dir.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    children = [
        start(
            "ruff",
            [python, "-m", "ruff", "check", "--output-format", "json", "--exit-zero", "."],
            log_dir,
        ),
        start(
            "semgrep",
            [
                str(SEMGREP),
                "scan",
                *SEMGREP_FLAGS,
                "--config",
                "semgrep/",
                "--json",
                "--quiet",
                ".",
            ],
            log_dir,
        ),
        start("semgrep_rules", [str(SEMGREP), "--test", *SEMGREP_FLAGS, "semgrep/"], log_dir),
    ]
    present = [path for path in TEST_FILES if (ROOT / path).exists()]
    children.append(
        start("tests", [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *present], log_dir)
    )
    return children


def _ruff(code: int, text: str) -> dict[str, Any]:
    """The security rules' (S) findings under the project's own configuration, which
    selects them and holds the reviewed exceptions (`--select S` would drop those)."""
    try:
        findings = [item for item in json.loads(text) if str(item["code"]).startswith("S")]
    except (json.JSONDecodeError, TypeError, KeyError):
        return {"ok": False, "findings": None, "error": text[-2000:]}
    return {
        "ok": code == 0 and not findings,
        "findings": len(findings),
        "listed": [
            f"{item['filename']}:{item['location']['row']}: {item['code']} {item['message']}"
            for item in findings
        ],
    }


def _semgrep(code: int, text: str) -> dict[str, Any]:
    try:
        report = json.loads(text)
    except json.JSONDecodeError:
        return {"ok": False, "findings": None, "error": text[-2000:]}
    results = report.get("results", [])
    errors = report.get("errors", [])
    return {
        "ok": code == 0 and not results and not errors,
        "findings": len(results),
        "errors": len(errors),
        "listed": [
            f"{item['path']}:{item['start']['line']}: {item['check_id'].rsplit('.', 1)[-1]}"
            for item in results
        ],
    }


def _rule_examples(code: int, text: str) -> dict[str, Any]:
    """`semgrep --test`: every rule finds its `ruleid` lines and none of its `ok` lines."""
    lines = [line.strip() for line in text.splitlines() if "tests passed" in line or "✖" in line]
    return {"ok": code == 0, "summary": "; ".join(lines) or text.strip()[-300:]}


def _tests(code: int, text: str) -> dict[str, Any]:
    last = text.strip().splitlines()[-1] if text.strip() else ""
    present = [path for path in TEST_FILES if (ROOT / path).exists()]
    return {"ok": code == 0, "files": present, "summary": last}


def collect(children: list[Child]) -> dict[str, dict[str, Any]]:
    """Waits for the checks and reads their results."""
    readers = {
        "ruff": _ruff,
        "semgrep": _semgrep,
        "semgrep_rules": _rule_examples,
        "tests": _tests,
    }
    results: dict[str, dict[str, Any]] = {}
    for child in children:
        code, seconds, text = child.finish()
        results[child.name] = readers[child.name](code, text) | {"seconds": seconds}
    return results
