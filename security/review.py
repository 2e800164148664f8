"""The yearly security review's run log (P39): which checks a run covered, and whether it is due.

`docs/security.md` ends with a run log, one table row per run of `make security` and
`make loadtest`: the date, the commit they ran on, a digest of the names of the security
checks that commit holds, and their figures. The review is due when the newest row is
older than 365 days, or when the suite's checks today are not the ones that run covered
(a check added, renamed or removed since). `python -m security.review record` appends the
row for the last runs; `python -m security.review check` says whether the review is due.
"""

import ast
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
SECURITY_DOC = "docs/security.md"
RUN_LOG_HEADING = "## Run log"
MAX_AGE = timedelta(days=365)
# The files whose checks make up the review; a new check file is added here.
CHECK_SOURCES = (
    "tests/integration/test_isolation.py",
    "tests/integration/test_isolation_queues.py",
    "tests/integration/test_hostile_inputs.py",
    "tests/integration/test_fuzzing.py",
    "security/fuzz.py",
    "security/loadtest.py",
    ".semgrep/rules.yml",
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
    """Names of the checks one source defines: test functions, `CHECKS` entries, rule ids."""
    if path.endswith((".yml", ".yaml")):
        rules = (yaml.safe_load(text) or {}).get("rules", [])
        return {f"{path}::{rule['id']}" for rule in rules}
    tree = ast.parse(text)
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            found.add(f"{path}::{node.name}")
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = any(isinstance(t, ast.Name) and t.id == "CHECKS" for t in targets)
            if named and node.value is not None:
                found.update(f"{path}::{name}" for name in ast.literal_eval(node.value))
    return found


def current_checks(root: Path = ROOT) -> set[str]:
    """The checks of the working tree."""
    found: set[str] = set()
    for path in CHECK_SOURCES:
        source = root / path
        if source.exists():
            found |= checks_in(path, source.read_text(encoding="utf-8"))
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
    found: set[str] = set()
    for path in CHECK_SOURCES:
        shown = _git(root, "show", f"{commit}:{path}")
        if shown.returncode == 0:
            found |= checks_in(path, shown.stdout)
    return found


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


def _summary(path: Path, keys: tuple[str, ...]) -> str:
    figures = json.loads(path.read_text(encoding="utf-8"))
    return ", ".join(f"{key} {figures[key]}" for key in keys if key in figures)


def record(root: Path = ROOT) -> RunLogEntry:
    """Appends the row for the last `make security` and `make loadtest` runs."""
    security = json.loads((root / ".local/security/last-run.json").read_text(encoding="utf-8"))
    loadtest = json.loads((root / ".local/loadtest/last-run.json").read_text(encoding="utf-8"))
    commits = {security.get("commit"), loadtest.get("commit")}
    if len(commits) != 1 or None in commits:
        raise SystemExit(f"the two runs name different commits: {sorted(map(str, commits))}")
    commit = str(commits.pop())
    checks = checks_at(commit, root)
    if checks is None:
        raise SystemExit(f"commit {commit} is not in this repository")
    entry = RunLogEntry(
        day=datetime.now(UTC).date(),
        commit=commit[:12],
        checks=digest(checks),
        security=str(security.get("summary", "")),
        loadtest=str(loadtest.get("summary", "")),
    )
    doc = root / SECURITY_DOC
    row = (
        f"| {entry.day} | `{entry.commit}` | `{entry.checks}` | {entry.security} | "
        f"{entry.loadtest} |\n"
    )
    text = doc.read_text(encoding="utf-8")
    doc.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    with doc.open("a", encoding="utf-8") as out:
        out.write(row)
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
