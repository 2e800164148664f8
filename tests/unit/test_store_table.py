"""The stores section of docs/architecture.md is what the catalogue and the function app say."""

import pytest

from devtools import store_table


def test_the_architecture_page_lists_the_stores_queues_and_timers_as_they_are():
    page = store_table.PAGE.read_text(encoding="utf-8")
    assert store_table.section(page) == store_table.render(), (
        "docs/architecture.md is out of date: run `python -m devtools.store_table --write`"
    )


def test_the_rendering_shows_keys_ttls_queue_triggers_and_timer_schedules():
    rendered = store_table.render()
    assert "| `sessions` | `/id` | 1 d |" in rendered
    assert "| `jobs` | `/id` | 14 d |" in rendered
    assert "`send_mail` (`functions/triggers/mail.py`) |" in rendered
    assert "| `purge_expired_sessions` | `0 */5 * * * *` |" in rendered


def test_a_page_without_the_markers_is_refused_rather_than_rewritten_elsewhere():
    with pytest.raises(ValueError, match="no section"):
        store_table.rewritten("# Architecture\n\nno generated section here\n")
