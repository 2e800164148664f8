"""The counting behind `make loadtest`: percentiles, merged ledgers and the exactness checks."""

from loadtest import ledger


def test_percentiles_and_endpoint_figures_merge_processes() -> None:
    histogram = ledger.merge_histograms([{"10": 90, "20": 5}, {20: 4, 500: 1}])
    assert histogram == {10: 90, 20: 9, 500: 1}
    assert ledger.percentile(histogram, 0.50) == 10
    assert ledger.percentile(histogram, 0.95) == 20
    assert ledger.percentile(histogram, 0.99) == 20
    assert ledger.percentile(histogram, 1.0) == 500
    assert ledger.percentile({}, 0.5) == 0
    figures = ledger.endpoint_figures(
        [
            {"name": "heartbeat", "requests": 95, "failures": 0, "histogram": {"10": 90, "20": 5}},
            {"name": "heartbeat", "requests": 5, "failures": 1, "histogram": {"20": 4, "500": 1}},
        ],
        seconds=10,
    )
    assert [(f.requests, f.failures, f.per_second, f.p95_ms, f.max_ms) for f in figures] == [
        (100, 1, 10.0, 20, 500)
    ]


def test_ledgers_of_several_processes_add_up() -> None:
    first = ledger.Ledger(heartbeats={"a": 2}, messages=["m1"], votes={"p": {"yes": 1}})
    second = ledger.Ledger.from_json(
        ledger.Ledger(
            heartbeats={"b": 3},
            messages=["m2"],
            votes={"p": {"yes": 2, "no": 1}},
            upvotes={"m1": 4},
            refused_closed=1,
            polls=["p"],
            requests_sent=7,
            budget_exhausted=True,
        ).to_json()
    )
    merged = ledger.merge_ledgers([first, second])
    assert merged.heartbeats == {"a": 2, "b": 3}
    assert merged.messages == ["m1", "m2"]
    assert merged.votes == {"p": {"yes": 3, "no": 1}}
    assert (merged.upvotes, merged.refused_closed, merged.polls) == ({"m1": 4}, 1, ["p"])
    assert merged.requests_sent == 7 and merged.budget_exhausted


def test_checks_pass_only_on_exact_counts() -> None:
    votes = {"p": {"yes": 3, "no": 1}}
    assert ledger.check_votes(votes, {"p": {"yes": 3, "no": 1}}).passed
    lost = ledger.check_votes(votes, {"p": {"yes": 2, "no": 1}})
    assert not lost.passed and lost.problems == ["poll p option yes: 3 accepted, 2 counted"]
    # Moved between options: the totals agree, the check does not.
    assert not ledger.check_votes(votes, {"p": {"yes": 2, "no": 2}}).passed

    sent = {"viewer-a": 3, "viewer-b": 1}
    assert ledger.check_heartbeats(sent, {"viewer-a": 90, "viewer-b": 30}).passed
    assert not ledger.check_heartbeats(sent, {"viewer-a": 60, "viewer-b": 30}).passed
    stranger = ledger.check_heartbeats(sent, {"viewer-a": 90, "viewer-b": 30, "viewer-c": 30})
    assert not stranger.passed and "viewer-c" in stranger.problems[0]
    assert ledger.check_report(sent, unique_viewers=2, live_minutes=2.0) == []
    assert len(ledger.check_report(sent, unique_viewers=1, live_minutes=1.5)) == 2

    assert ledger.check_messages(["m1", "m2"], ["m2", "m1"]).passed
    missing = ledger.check_messages(["m1", "m2"], ["m1", "m3"])
    assert sorted(missing.problems) == [
        "message m2 accepted, not in the moderators' list",
        "message m3 listed, never accepted",
    ]
    assert not ledger.check_messages(["m1", "m1"], ["m1"]).passed

    assert ledger.check_upvotes({"m1": 2}, {"m1": 2, "m2": 0}).passed
    assert not ledger.check_upvotes({"m1": 2}, {"m1": 1}).passed
    assert not ledger.check_upvotes({"m1": 2}, {"m1": 2, "m2": 1}).passed


def test_request_budget_is_twice_the_planned_requests() -> None:
    # 100 viewers for 60 s: (2 heartbeats + 24 polls + 2) each; 1 moderator: (22 + 2).
    assert ledger.request_budget(viewers=100, moderators=1, seconds=60) == 2 * (2800 + 24)


def test_requests_without_an_answer_explain_extras_but_never_a_loss() -> None:
    unknown = ledger.merge_ledgers(
        [ledger.Ledger(unknown={"votes": {"p": 1}}), ledger.Ledger(unknown={"votes": {"p": 1}})]
    ).unknown
    assert unknown == {"votes": {"p": 2}}
    # Two answers timed out and were counted all the same: not exact, nothing lost.
    timed_out = ledger.check_votes({"p": {"yes": 3}}, {"p": {"yes": 5}}, unknown["votes"])
    assert not timed_out.passed and timed_out.nothing_lost
    too_many = ledger.check_votes({"p": {"yes": 3}}, {"p": {"yes": 6}}, unknown["votes"])
    assert (too_many.lost, too_many.unexplained) == (0, 1)
    missing = ledger.check_votes({"p": {"yes": 3}}, {"p": {"yes": 2}}, unknown["votes"])
    assert (missing.lost, missing.nothing_lost) == (1, False)

    slots = ledger.check_heartbeats({"a": 2}, {"a": 90, "b": 30}, {"a": 1, "b": 1})
    assert not slots.passed and slots.nothing_lost
    assert ledger.check_heartbeats({"a": 2}, {"a": 30}, {"a": 1}).lost == 1
    assert ledger.check_heartbeats({"a": 2}, {"a": 60, "b": 30}).unexplained == 1

    assert ledger.check_messages(["m1"], ["m1", "m2"], unknown=1).nothing_lost
    assert ledger.check_messages(["m1"], ["m1", "m2"]).unexplained == 1
    assert ledger.check_messages(["m1", "m2"], ["m1", "m3"], unknown=1).lost == 1
    assert ledger.check_upvotes({"m1": 1}, {"m1": 2}, {"m1": 1}).nothing_lost
    assert ledger.check_upvotes({"m1": 2}, {"m1": 1}, {"m1": 1}).lost == 1
