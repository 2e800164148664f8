"""docs/privacy-claims.md states every promise P01-P39 and names the tests that prove each."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "privacy-claims.md"
PROMISE_IDS = [f"P{n:02d}" for n in range(1, 40)]
# Any literal use of the mark: decorator, pytestmark list or pytest.param(marks=...).
MARK = re.compile(r"""mark\.claim\(\s*["'](P\d+)["']""")
HEADING = re.compile(r"^### (P\d+) ", re.MULTILINE)
TEST_FILE = re.compile(r"`(tests/[\w/]+\.py)`")


def _entries() -> dict[str, str]:
    """Promise id -> the text under its heading, in the page's order."""
    text = PAGE.read_text(encoding="utf-8")
    headings = list(HEADING.finditer(text))
    ends = [h.start() for h in headings[1:]] + [len(text)]
    return {h.group(1): text[h.end() : end] for h, end in zip(headings, ends, strict=True)}


def _marked_files() -> dict[str, set[str]]:
    """Promise id -> the test files that mark a test with it."""
    marked: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for promise in MARK.findall(path.read_text(encoding="utf-8")):
            marked.setdefault(promise, set()).add(path.relative_to(ROOT).as_posix())
    return marked


def _named_files(entry: str) -> set[str] | None:
    """The files on the entry's 'Proven by:' paragraph; None when it has none."""
    for paragraph in entry.split("\n\n"):
        if paragraph.strip().startswith("Proven by:"):
            return set(TEST_FILE.findall(paragraph))
    return None


def test_the_page_states_each_promise_p01_to_p39_once_in_order():
    headings = HEADING.findall(PAGE.read_text(encoding="utf-8"))
    assert headings == PROMISE_IDS


def test_every_id_a_test_marks_is_a_promise_on_the_page():
    marked = _marked_files()
    assert len(marked) > 20, "the marks are found in the test files"
    unknown = {promise: files for promise, files in marked.items() if promise not in _entries()}
    assert unknown == {}, "these tests mark promises docs/privacy-claims.md does not state"


def test_each_promise_names_exactly_the_files_that_prove_it_or_says_it_is_not_yet_proven():
    marked = _marked_files()
    wrong = {}
    for promise, entry in _entries().items():
        named = _named_files(entry)
        actual = marked.get(promise, set())
        if named is None:
            if actual or "Not yet proven:" not in entry:
                wrong[promise] = f"no 'Proven by:' paragraph; marked in {sorted(actual)}"
        elif named != actual or not actual:
            wrong[promise] = f"'Proven by:' names {sorted(named)}; marked in {sorted(actual)}"
    assert wrong == {}, "update the 'Proven by:' paragraphs of docs/privacy-claims.md"
