"""The yearly security review's run log (P39): which checks a run covered, and whether it is due.

`docs/security.md` ends with a run log, one table row per run of `make security` and
`make loadtest`: the date, the commit they ran on, a digest of the names of the security
checks that commit holds, and their figures. The review is due when the newest row is
older than 365 days, or when the suite's checks today are not the ones that run covered
(a check added, renamed or removed since). `python -m security.review record` appends the
row for the last runs; `python -m security.review check` says whether the review is due.
"""

import ast
import fnmatch
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
SECURITY_DOC = "docs/security.md"
RUN_LOG_HEADING = "## Run log"
MAX_AGE = timedelta(days=365)
# The files whose checks make up the review (a pattern for semgrep's rule files); a new check
# file is added here.
CHECK_SOURCES = (
    "tests/integration/test_isolation.py",
    "tests/integration/test_isolation_queues.py",
    "tests/integration/test_hostile_inputs.py",
    "tests/integration/test_fuzzing.py",
    "tests/integration/test_problem_schema.py",
    "security/fuzz.py",
    "loadtest/ledger.py",
    "semgrep/*.yml",
)
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")


class RunLogEntry(BaseModel):
    """One row of the run log."""

    day: date
    commit: str
    checks: str
    security: str
    loadtest: str


def checks_in(path: str, text: str) -> set[str]:
    """Names of the checks one source defines: rule ids, test and check functions, `*CHECKS`."""
    if path.endswith((".yml", ".yaml")):
        rules = (yaml.safe_load(text) or {}).get("rules", [])
        return {f"{path}::{rule['id']}" for rule in rules}
    found: set[str] = set()
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith(("test_", "check_")):
            found.add(f"{path}::{node.name}")
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith("CHECKS") for t in targets):
                found.update(f"{path}::{name}" for name in _literal_names(node.value))
    return found


def _literal_names(value: ast.expr) -> list[str]:
    """The string keys of a dict literal or the strings of a tuple, list or set literal."""
    items = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
    return [
        item.value
        for item in items
        if isinstance(item, ast.Constant) and isinstance(item.value, str)
    ]


def _source_paths(listed: Iterable[str]) -> list[str]:
    """The check sources, each pattern in CHECK_SOURCES matched against the given paths."""
    paths = list(listed)
    return sorted({p for source in CHECK_SOURCES for p in paths if fnmatch.fnmatch(p, source)})


def current_checks(root: Path = ROOT) -> set[str]:
    """The checks of the working tree."""
    tree = [str(path.relative_to(root)) for pattern in CHECK_SOURCES for path in root.glob(pattern)]
    found: set[str] = set()
    for path in _source_paths(tree):
        found |= checks_in(path, (root / path).read_text(encoding="utf-8"))
    return found


def _git(root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    # Fixed git subcommands; the only variable part is a commit id checked by _COMMIT.
    return subprocess.run(  # noqa: S603
        ["git", "-C", str(root), *arguments],  # noqa: S607 - git from PATH, as a developer runs it
        capture_output=True,
        text=True,
        check=False,
    )


def checks_at(commit: str, root: Path = ROOT) -> set[str] | None:
    """The checks a commit holds, or None when the commit is not in this repository."""
    if not _COMMIT.match(commit) or _git(root, "cat-file", "-e", f"{commit}^{{commit}}").returncode:
        return None
    listed = _git(root, "ls-tree", "-r", "--name-only", commit).stdout.splitlines()
    found: set[str] = set()
    for path in _source_paths(listed):
        shown = _git(root, "show", f"{commit}:{path}")
        if shown.returncode == 0:
            found |= checks_in(path, shown.stdout)
    return found


def history_complete(root: Path = ROOT) -> bool:
    """Whether this checkout holds the repository's history (not a shallow clone or an export)."""
    shallow = _git(root, "rev-parse", "--is-shallow-repository")
    return shallow.returncode == 0 and shallow.stdout.strip() == "false"


def digest(checks: Iterable[str]) -> str:
    """A short, order-free name for a set of checks."""
    names = sorted(set(checks))
    joined = "\n".join(names).encode()
    return f"{len(names)}:{hashlib.sha256(joined).hexdigest()[:16]}"


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def read_run_log(markdown: str) -> list[RunLogEntry]:
    """The rows of the run log table, in the order written."""
    _, found, after = markdown.partition(RUN_LOG_HEADING)
    if not found:
        return []
    entries = []
    for line in after.splitlines():
        if line.startswith("## "):
            break
        cells = _cells(line)
        if not line.startswith("|") or len(cells) != 5 or not re.match(r"\d{4}-", cells[0]):
            continue
        day, commit, checks, security, loadtest = cells
        entries.append(
            RunLogEntry(
                day=date.fromisoformat(day),
                commit=commit,
                checks=checks,
                security=security,
                loadtest=loadtest,
            )
        )
    return entries


def review_problems(
    entries: list[RunLogEntry],
    *,
    today: date,
    current: set[str],
    checks_of: Callable[[str], set[str] | None],
) -> list[str]:
    """Why the review is due, or nothing when the newest run is recent and covers today's checks."""
    if not entries:
        return ["the run log has no entry"]
    newest = max(entries, key=lambda entry: entry.day)
    problems = []
    if newest.day > today:
        problems.append(f"the newest run is dated in the future ({newest.day})")
    if today - newest.day > MAX_AGE:
        problems.append(f"the newest run ({newest.day}) is older than {MAX_AGE.days} days")
    if newest.checks != digest(current):
        problems.append(
            f"the newest run covered checks {newest.checks}, the suite has {digest(current)}"
        )
    at_commit = checks_of(newest.commit)
    if at_commit is None:
        problems.append(f"the newest run names commit {newest.commit}, not in this repository")
    elif digest(at_commit) != newest.checks:
        problems.append(
            f"commit {newest.commit} holds checks {digest(at_commit)}, not {newest.checks}"
        )
    return problems


def security_summary(run: dict[str, Any]) -> str:
    """The run log's cell for a `make security` run (its JSON, see security/__init__.py)."""
    requests = {k: v for k, v in run["requests"].items() if k != "fresh_owners"}
    conformance = sum(run["conformance_failures"].values())
    return (
        f"{sum(requests.values())} requests over {run['operations']} operations, "
        f"{run['server_errors']} server errors, {conformance} conformance failures, "
        f"semgrep {run['semgrep']['findings']} and ruff {run['ruff']['findings']} findings, "
        f"tests {run['tests']['summary']}; {run['seconds'] / 60:.1f} min"
    )


def loadtest_summary(run: dict[str, Any]) -> str:
    """The run log's cell for a `make loadtest` run (its JSON, see loadtest/__main__.py)."""
    parameters, requests, machine = run["parameters"], run["requests"], run["machine"]
    slowest = max(run["endpoints"], key=lambda endpoint: endpoint["p95_ms"])
    counts = ", ".join(
        f"{name} {check['found']}/{check['expected']}" for name, check in run["checks"].items()
    )
    return (
        f"{parameters['viewers']} viewers, {parameters['moderators']} moderators, "
        f"{parameters['seconds'] / 60:.0f} min: {requests['total']} requests "
        f"({requests['per_second']}/s), {requests['failures']} errors, p95 worst "
        f"{slowest['p95_ms']} ms ({slowest['name']}); exact: {counts}; "
        f"{machine['nproc']} cores {machine['cpu_model']}, load {machine['load_before'][0]}"
    )


def record(root: Path = ROOT) -> RunLogEntry:
    """Appends the row for the last `make security` and `make loadtest` runs, if both passed."""
    runs = {}
    for name in ("security", "loadtest"):
        run = json.loads((root / f".local/{name}/last-run.json").read_text(encoding="utf-8"))
        if not run.get("passed") or run.get("dirty"):
            raise SystemExit(f"the last {name} run did not pass on a clean tree: not recorded")
        runs[name] = run
    commits = {str(run["commit"]) for run in runs.values()}
    if len(commits) != 1:
        raise SystemExit(f"the two runs name different commits: {sorted(commits)}")
    commit = commits.pop()
    checks = checks_at(commit, root)
    if checks is None:
        raise SystemExit(f"commit {commit} is not in this repository")
    entry = RunLogEntry(
        day=datetime.now(UTC).date(),
        commit=commit[:12],
        checks=digest(checks),
        security=security_summary(runs["security"]),
        loadtest=loadtest_summary(runs["loadtest"]),
    )
    doc = root / SECURITY_DOC
    text = doc.read_text(encoding="utf-8")
    row = (
        f"| {entry.day} | `{entry.commit}` | `{entry.checks}` | {entry.security} | "
        f"{entry.loadtest} |\n"
    )
    doc.write_text((text if text.endswith("\n") else text + "\n") + row, encoding="utf-8")
    return entry


def main(arguments: list[str]) -> int:
    if arguments == ["record"]:
        print(record())
        return 0
    if arguments == ["check"]:
        entries = read_run_log((ROOT / SECURITY_DOC).read_text(encoding="utf-8"))
        problems = review_problems(
            entries, today=datetime.now(UTC).date(), current=current_checks(), checks_of=checks_at
        )
        print("\n".join(problems) or "the security review is up to date")
        return 1 if problems else 0
    print("usage: python -m security.review record|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
