"""Tenant rich text renders inert: no script, no handler, no dangerous link survives."""

import re

import pytest

from shared import richtext

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "<iframe src=https://evil.example></iframe>",
    '<svg onload="alert(1)"></svg>',
    '[x](https://ok.example "title" onmouseover=alert(1))',
    "<style>body{display:none}</style>",
    "![pixel](https://tracker.example/p.gif)",
    "<!-- <script>alert(1)</script> -->",
]


@pytest.mark.parametrize("markdown", HOSTILE)
def test_hostile_markdown_renders_inert(markdown):
    html = richtext.render(markdown)
    tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", html))
    assert tags <= richtext.ALLOWED_TAGS, html
    # Only what sits inside a tag counts: the same words in escaped text are only text.
    opened = re.findall(r"<[a-z][^>]*>", html)
    assert not any(re.search(r"\son\w+\s*=", tag) for tag in opened), html
    for href in (found for tag in opened for found in re.findall(r'href="([^"]*)"', tag)):
        assert href.split(":", 1)[0].lower() in richtext.ALLOWED_SCHEMES, html
    assert "<img" not in html and "<script" not in html


def test_ordinary_markdown_keeps_its_structure_below_the_pages_title():
    html = richtext.render(
        "# Agenda\n\n## Morning\n\n- **Keynote** by *Erika*\n- [Slides](https://example.org/s)\n\n"
        "> A quote\n\nMail [us](mailto:team@example.org)."
    )
    assert "<h2>Agenda</h2>" in html and "<h3>Morning</h3>" in html
    assert "<strong>Keynote</strong>" in html and "<em>Erika</em>" in html
    assert '<a href="https://example.org/s" rel="noopener noreferrer nofollow">Slides</a>' in html
    assert '<a href="mailto:team@example.org"' in html
    assert "<blockquote>" in html and "<h1" not in html


def test_raw_html_is_shown_as_text_not_dropped():
    assert richtext.render("a <b>bold</b> claim") == "<p>a &lt;b&gt;bold&lt;/b&gt; claim</p>\n"


@pytest.mark.parametrize(
    ("markdown", "reason"),
    [
        ("x" * (richtext.MAX_MARKDOWN_CHARS + 1), "at most"),
        ("lone \ud800 surrogate", "surrogate"),
        ("bell \x07", r"U\+0007"),
    ],
)
def test_text_it_cannot_take_is_refused_with_a_reason(markdown, reason):
    with pytest.raises(richtext.RichTextError, match=reason):
        richtext.render(markdown)


@pytest.mark.parametrize(
    "markdown",
    [
        "[" * richtext.MAX_MARKDOWN_CHARS,
        "*a" * (richtext.MAX_MARKDOWN_CHARS // 2),
        "> " * (richtext.MAX_MARKDOWN_CHARS // 2),
        "- " * (richtext.MAX_MARKDOWN_CHARS // 2),
        "`" * richtext.MAX_MARKDOWN_CHARS,
        "<" * richtext.MAX_MARKDOWN_CHARS,
    ],
)
def test_pathological_text_at_the_limit_renders_bounded_output(markdown):
    html = richtext.render(markdown)
    # Escaping may grow text (< becomes &lt;), nesting adds tags; both stay linear in the input.
    assert len(html) < 40 * richtext.MAX_MARKDOWN_CHARS
