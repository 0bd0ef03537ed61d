"""The revenue-deferral patch: runs recorded before it replay without its marker; runs
recorded with it post their documents after the marker, and replay."""

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
