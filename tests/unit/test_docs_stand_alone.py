"""The README, docs/ and the marker help refer only to what a clone of the repository holds."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The design notes, the promise list and the record of processing kept beside the
# repository, not in it (case matters: `privacy-claims.md` is the repository's own page).
OUTSIDE = re.compile(r"\.\./shared|/work/|DESIGN\.md|CLAIMS\.md|[Vv]erarbeitungsverzeichnis")


def test_no_page_points_outside_the_repository():
    pages = [ROOT / "README.md", ROOT / "pyproject.toml", *sorted((ROOT / "docs").rglob("*.md"))]
    assert len(pages) > 40, "the README, the docs and the decisions are read"
    found = {
        f"{page.relative_to(ROOT)}:{number}": hit.group()
        for page in pages
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if (hit := OUTSIDE.search(line))
    }
    assert found == {}, "name the repository's own document (docs/privacy-claims.md, ...)"
