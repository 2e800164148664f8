"""Tenant rich text: Markdown rendered to HTML and sanitised on the server (decision 0056).

Tenants never send HTML. Their Markdown is rendered with raw HTML off (markdown-it-py's
CommonMark, so `<script>` stays text) and the result passes nh3 (ammonia) with a short list of
tags, `href` only on links, and http(s)/mailto schemes only: a `javascript:` or `data:` link
loses its target. The participant pages run on the admins' origin, so nothing a tenant writes
may become script there.
"""

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from shared.text import text_problem

# A page block's text: about ten pages of prose. Bounds the renderer's work per block.
MAX_MARKDOWN_CHARS = 20_000
# markdown-it stops descending here (its CommonMark preset's 20): what a text nests deeper
# than that (quotes in lists in quotes ...) is not shown. Bounds the tree per text.
MAX_NESTING = 20
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "a", "ul", "ol", "li", "h2", "h3", "h4",
        "blockquote", "code", "pre", "hr",
    }
)  # fmt: skip
ALLOWED_SCHEMES = frozenset({"https", "http", "mailto"})

_markdown = MarkdownIt("commonmark", {"html": False, "maxNesting": MAX_NESTING}).disable(
    # Images come through the upload gate as blocks of their own, never by URL in text.
    "image"
)


def _headings_below_the_title(state: StateCore) -> None:
    """`#` becomes h2 (the page's title is its one h1), `##` h3, the rest h4."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 4)}"


_markdown.core.ruler.push("headings_below_the_title", _headings_below_the_title)


class RichTextError(ValueError):
    """The text cannot be rendered; the message says why, for the field's error."""


def render(markdown: str) -> str:
    """Safe HTML for the Markdown; raises RichTextError for text it refuses."""
    if len(markdown) > MAX_MARKDOWN_CHARS:
        raise RichTextError(f"must be at most {MAX_MARKDOWN_CHARS} characters")
    problem = text_problem(markdown, multi_line=True)
    if problem is not None:
        raise RichTextError(problem)
    html = _markdown.render(markdown)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={"a": {"href", "title"}},
        url_schemes=set(ALLOWED_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
