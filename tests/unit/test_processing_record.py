"""The record's Markdown keeps every configured value literal: no markup, table or list of a
customer's label or name can change the document's structure."""

import pytest
from markdown_it import MarkdownIt

from shared.composition.processing_record import ProcessingRecord, Section, html, markdown

HOSTILE = "<script>alert(1)</script> | *bold* [link](javascript:x)\n- not a list\n1. nor this"


def _record() -> ProcessingRecord:
    return ProcessingRecord(
        language="en",
        title="Record",
        generated_at="2026-12-03T00:00:00Z",
        sections=[
            Section(title="Controller", paragraphs=[HOSTILE], items=[HOSTILE]),
            Section(title="Webcasts", header=["Webcast", "Data"], rows=[[HOSTILE, "e-mail"]]),
        ],
    )


@pytest.mark.claim("P33")
def test_values_stay_literal_in_the_markdown():
    rendered = MarkdownIt("commonmark").enable("table").render(markdown(_record()))
    assert "<script" not in rendered and "<strong>" not in rendered and "<a " not in rendered
    assert rendered.count("<li>") == 1, "only the item itself is a list entry"
    assert rendered.count("<td>") == 2, "a pipe in a value does not add a column"
    assert "&lt;script&gt;" in rendered


@pytest.mark.claim("P33")
def test_the_page_escapes_every_value():
    page = html(_record())
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("<td>") == 2 and '<html lang="en">' in page
