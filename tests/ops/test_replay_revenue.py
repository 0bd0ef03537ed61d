"""The revenue patches: runs recorded before `revenue-deferral` replay without its marker;
runs recorded with it post their documents after the marker, and replay. A credit note's run
recorded with `revenue-credits` replays, and so does a monthly recognition run."""

import json
from pathlib import Path

import pytest

from ops.replay import load_history, replay
from tests.recorded import event_patch_ids

HISTORIES = Path(__file__).parents[1] / "histories"
WITH_DEFERRAL = HISTORIES / "revenue_deferral"


def _patches_then_posts(path: Path) -> list[str]:
    """Patch ids and post_invoice schedulings, in history order."""
    seen = []
    for event in json.loads(path.read_text())["events"]:
        seen += event_patch_ids(event)
        if event["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            name = event["activityTaskScheduledEventAttributes"]["activityType"]["name"]
            if name == "post_invoice":
                seen.append("post_invoice")
    return seen


@pytest.mark.parametrize("name", ["straight_through", "amendment"])
async def test_runs_recorded_with_the_deferral_replay_and_mark_it_before_posting(
    name: str,
) -> None:
    path = WITH_DEFERRAL / f"{name}.json"
    seen = _patches_then_posts(path)
    assert "revenue-deferral" in seen
    assert seen.index("revenue-deferral") < seen.index("post_invoice")
    [outcome] = await replay([(name, load_history(path))])
    assert outcome.ok, outcome.error


@pytest.mark.parametrize("name", ["straight_through", "amendment", "approval_approved"])
async def test_runs_recorded_before_the_deferral_replay_without_it(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    seen = _patches_then_posts(path)
    assert "post_invoice" in seen and "revenue-deferral" not in seen
    [outcome] = await replay([(name, load_history(path))])
    assert outcome.ok, outcome.error


def test_a_credit_note_run_marks_revenue_credits_before_posting_and_replays() -> None:
    # Recorded with `revenue-credits`: the credit note (posted first) matches its invoice's
    # schedule. The amendment recorded before it (revenue_deferral/) has no marker.
    path = HISTORIES / "revenue_credits" / "amendment.json"
    seen = _patches_then_posts(path)
    assert seen.index("revenue-credits") < seen.index("post_invoice")
    assert "revenue-credits" not in _patches_then_posts(WITH_DEFERRAL / "amendment.json")


@pytest.mark.parametrize(
    "path",
    [
        HISTORIES / "revenue_credits" / "amendment.json",
        HISTORIES / "revenue_recognition" / "closed_month.json",
    ],
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
async def test_revenue_histories_replay(path: Path) -> None:
    [outcome] = await replay([(path.stem, load_history(path))])
    assert outcome.ok, outcome.error


def test_the_recognition_history_is_a_recognition_run() -> None:
    path = HISTORIES / "revenue_recognition" / "closed_month.json"
    events = json.loads(path.read_text())["events"]
    started = events[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == "RevenueRecognition"
    scheduled = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ]
    assert scheduled == ["due_currencies", "post_recognition", "reconcile_revenue"]
