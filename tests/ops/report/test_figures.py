"""The report's figures on a known audit trail, against figures worked out by hand."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from ops.report.figures import (
    Durations,
    Exceptions,
    Incidents,
    Rate,
    bucket,
    compute,
    median,
    p90,
)
from ops.report.render import histogram
from schemas.audit import Outcome
from tests.ops.report.trail import NOW, SINCE, Run, at, known_trail

HOUR = 3600.0


def test_counts_runs_by_outcome_within_the_window() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    assert (report.runs, report.posted, report.needs_attention, report.rejected, report.open) == (
        10, 3, 2, 1, 4,
    )  # fmt: skip


def test_the_window_is_by_when_the_event_was_received() -> None:
    report = compute(known_trail(), now=NOW)
    assert (report.runs, report.posted) == (11, 4)


def test_cycle_time_from_event_to_posted_median_and_p90() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    # R1 1 h, R2 3 h, R3 30 min: median 1 h; nearest-rank p90 of three is the third.
    assert report.cycle_time == Durations(count=3, median_seconds=HOUR, p90_seconds=3 * HOUR)
    assert report.cycle_times_seconds == [0.5 * HOUR, HOUR, 3 * HOUR]


def test_cycle_time_by_product_line() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    lines = {line.product_line: line for line in report.cycle_time_by_product_line}
    assert lines.keys() == {"analytics", "platform"}
    assert (lines["analytics"].median_seconds, lines["analytics"].p90_seconds) == (
        0.5 * HOUR, 0.5 * HOUR,
    )  # fmt: skip
    # platform: 1 h and 3 h: the median is their mean, p90 the larger.
    assert (lines["platform"].count, lines["platform"].median_seconds) == (2, 2 * HOUR)
    assert lines["platform"].p90_seconds == 3 * HOUR


def test_straight_through_rate_counts_every_run_in_the_window() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    assert report.straight_through == Rate(count=2, total=10, rate=0.2)  # R1 and R3


def test_first_pass_accuracy_fails_a_changed_total_and_a_refused_posting() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    # Reached posting: R1, R2, R3, R7. R2 was posted with a changed total; R7 was refused.
    assert report.first_pass_accuracy == Rate(count=2, total=4, rate=0.5)


def test_exceptions_by_reason_and_source_system() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    assert report.exceptions == [
        Exceptions(reason_code="amount_threshold", source_system="billing", count=2),
        Exceptions(reason_code="customer_invalid", source_system="crm", count=1),
        Exceptions(reason_code="non_standard_clause", source_system="crm", count=1),
        Exceptions(reason_code="posting_conflict", source_system="erp", count=1),
        Exceptions(reason_code="price_override", source_system="crm", count=1),
        Exceptions(reason_code="rejected", source_system="approver", count=1),
        Exceptions(reason_code="tax_uncertain", source_system="tax", count=1),
    ]


def test_integration_incidents_per_system() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    assert report.incidents == [
        Incidents(system="erp", retries=2, failures=1),
        Incidents(system="usage", retries=1, failures=0),
    ]


def test_open_items_are_aged_into_buckets() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    assert report.aging == {
        "under 1 day": 1,  # R5, 18 h
        "1–3 days": 1,  # R9, 2 days
        "3–7 days": 1,  # R8, exactly 3 days
        "over 7 days": 1,  # R4, 16.5 days
    }
    items = {item.workflow_id: item for item in report.open_items}
    assert [item.workflow_id for item in report.open_items] == ["R4", "R8", "R9", "R5"]
    assert items["R4"].waiting_on == "approval"
    assert items["R4"].approval_wait_seconds == (NOW - at(4, 0, 5)).total_seconds() == 1425300
    assert items["R8"].approval_wait_seconds == 3 * 86400 - 60
    assert items["R5"].waiting_on == "fetch_usage"
    assert items["R5"].approval_wait_seconds is None
    assert items["R5"].age_seconds == 18 * HOUR
    assert items["R5"].product_line == "platform"


def test_approval_wait_of_decided_approvals() -> None:
    report = compute(known_trail(), now=NOW, since=SINCE)
    # R2 waited 2 h, R11 1 h.
    assert report.approval_wait == Durations(
        count=2, median_seconds=1.5 * HOUR, p90_seconds=2 * HOUR
    )


def test_a_posting_after_a_request_counts_as_the_decision_when_none_was_recorded() -> None:
    run = (
        Run("X", "platform", at(1))
        .approval(at(1, 0, 10), "amount_threshold")
        .post(at(1, 0, 40))
        .outcome(at(1, 1), Outcome.POSTED)
    )
    report = compute(run.handoffs, now=NOW)
    assert report.approval_wait.median_seconds == 30 * 60
    assert report.straight_through.count == 0


def test_an_empty_trail_gives_empty_figures() -> None:
    report = compute([], now=NOW)
    assert report.runs == 0
    assert report.cycle_time == Durations(count=0, median_seconds=None, p90_seconds=None)
    assert report.straight_through.rate is None
    assert report.aging == dict.fromkeys(report.aging, 0)


def test_bucket_edges() -> None:
    day = timedelta(days=1)
    assert [bucket(x) for x in (day - timedelta(seconds=1), day, 3 * day, 7 * day)] == [
        "under 1 day", "1–3 days", "3–7 days", "over 7 days",
    ]  # fmt: skip


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=50))
def test_p90_is_a_value_at_or_above_the_median(values: list[float]) -> None:
    high, middle = p90(values), median(values)
    assert high is not None and middle is not None
    assert high in values
    assert high >= middle or abs(high - middle) < 1e-6
    assert sum(1 for v in values if v <= high) >= 0.9 * len(values)


def test_histogram_bins_start_at_the_first_value_and_count_every_value() -> None:
    assert histogram([13.2, 13.9, 14.1, 15.0]) == [("13–14 s", 2), ("14–15 s", 1), ("15–16 s", 1)]
    assert histogram([1800.0, 3600.0, 10800.0]) == [
        ("30–60 min", 1), ("60–90 min", 1), ("90–120 min", 0),
        ("120–150 min", 0), ("150–180 min", 0), ("180–210 min", 1),
    ]  # fmt: skip
    assert histogram([]) == []


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=50))
def test_histogram_counts_every_value(values: list[float]) -> None:
    bins = histogram(values)
    assert sum(count for _, count in bins) == len(values)
    assert len(bins) <= 8


def test_with_two_approvers_the_last_approval_decides() -> None:
    run = (
        Run("X", "platform", at(1))
        .approval(at(1, 0, 0), "amount_threshold")
        .add("approval", "approver", Outcome.APPROVED, at(1, 1), key="a/1", decided_by="a@x.io")
        .add("approval", "approver", Outcome.APPROVED, at(1, 3), key="a/2", decided_by="b@x.io")
        .post(at(1, 3, 1))
        .outcome(at(1, 3, 2), Outcome.POSTED)
    )
    assert compute(run.handoffs, now=NOW).approval_wait.median_seconds == 3 * HOUR


def test_an_expired_approval_is_an_exception_charged_to_the_approver() -> None:
    run = (
        Run("X", "platform", at(1))
        .approval(at(1, 0, 0), "price_override")
        .outcome(at(8), Outcome.NEEDS_ATTENTION, "approval_expired", "approver")
    )
    report = compute(run.handoffs, now=NOW)
    assert report.open == 0
    assert Exceptions(reason_code="approval_expired", source_system="approver", count=1) in (
        report.exceptions
    )


def test_an_amendment_with_nothing_to_bill_is_settled_not_open_nor_an_exception() -> None:
    run = Run("q2c:C-1:amendment", "platform", at(2, 9)).outcome(
        at(2, 9, 1), Outcome.NOTHING_TO_BILL, system="q2c"
    )
    report = compute(run.handoffs, now=NOW, since=SINCE)
    assert (report.runs, report.open, report.posted, report.needs_attention) == (1, 0, 0, 0)
    assert report.exceptions == []


def test_runs_that_collect_count_as_posted_with_their_cycle_ending_where_collection_began() -> None:
    def collecting(name: str) -> Run:
        # Received at 09:00, posted at 10:00, collection planned at 11:00 (after delivery).
        return (
            Run(f"q2c:{name}:cycle", "platform", at(2, 9))
            .post(at(2, 10))
            .activity("plan_collection", "q2c", at(2, 11))
        )

    paid = collecting("C-1").outcome(at(20, 9), Outcome.PAID, system="q2c")
    written_off = collecting("C-2").outcome(at(25, 9), Outcome.WRITTEN_OFF, system="q2c")
    waiting = collecting("C-3")  # still waiting for its money: no outcome yet
    refunded = (
        Run("q2c:C-4:amendment", "platform", at(2, 9))
        .post(at(2, 9, 30))
        .outcome(at(2, 9, 45), Outcome.REFUNDED, system="q2c")
    )
    trail = paid.handoffs + written_off.handoffs + waiting.handoffs + refunded.handoffs
    report = compute(trail, now=NOW, since=SINCE)
    assert (report.runs, report.posted, report.open) == (4, 4, 0)
    assert (report.paid, report.written_off, report.refunded, report.collecting) == (1, 1, 1, 1)
    assert report.exceptions == []
    # Two hours each to collection for the three that collect; 45 minutes for the refund.
    assert report.cycle_times_seconds == [0.75 * HOUR, 2 * HOUR, 2 * HOUR, 2 * HOUR]


def test_a_reset_run_is_one_run_in_its_latest_outcome_its_cycle_to_its_first_posting() -> None:
    # R1 posted at 01:00 on Nov 1; reset on Nov 2 it posts again (the ERP holds it once):
    # a second outcome row under the new run id, no new activity rows.
    posted = Run("R1", "platform", at(1)).taxed(at(1, 0, 10)).post(at(1, 0, 50))
    posted.outcome(at(1, 1), Outcome.POSTED)
    again = posted.handoffs[-1].model_copy(
        update={"key": "R1/run-2/outcome", "run_id": "run-2", "finished_at": at(2, 9)}
    )
    # R2 posted, then reset after its usage changed: its latest outcome is needs-attention.
    conflicted = Run("R2", "platform", at(3)).taxed(at(3, 0, 5)).post(at(3, 0, 20))
    conflicted.outcome(at(3, 0, 30), Outcome.POSTED)
    needs = conflicted.handoffs[-1].model_copy(
        update={
            "key": "R2/run-2/outcome",
            "run_id": "run-2",
            "outcome": Outcome.NEEDS_ATTENTION,
            "reason_code": "posting_conflict",
            "finished_at": at(4),
        }
    )
    report = compute([*posted.handoffs, again, *conflicted.handoffs, needs], now=NOW)
    assert (report.runs, report.posted, report.needs_attention) == (2, 1, 1)
    # R1's cycle ends at its first posting (1 h), not at the reset's (33 h).
    assert report.cycle_times_seconds == [HOUR]
    assert report.straight_through == Rate(count=1, total=2, rate=0.5)
    assert report.exceptions == [
        Exceptions(reason_code="posting_conflict", source_system="erp", count=1)
    ]
