"""The `whole-input` patch: a run recorded with it (an oversized refused approval, a small
one, then an approval with a long comment) replays, with one `keep_whole_input` activity per
input kept cut and its marker only where the first was cut; runs recorded before it
(`bounded-input`'s, the same inputs kept cut alone) still replay."""

import json
from pathlib import Path

import pytest

from ops.replay import load_history, replay
from tests.recorded import history_events, patch_ids
from workflows.whole_input import WHOLE_INPUT

HISTORIES = Path(__file__).parents[1] / "histories"
RECORDED = HISTORIES / "whole_input" / "oversized_approval.json"
BEFORE = HISTORIES / "bounded_input" / "hostile_input.json"


def _kept_whole(path: Path) -> list[dict[str, object]]:
    return [
        e["activityTaskScheduledEventAttributes"]
        for e in history_events(path)
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "keep_whole_input"
    ]


@pytest.mark.parametrize("path", [RECORDED, BEFORE], ids=["with-patch", "before-patch"])
async def test_runs_with_and_before_the_whole_input_patch_replay(path: Path) -> None:
    [outcome] = await replay([(path.stem, load_history(path))])
    assert outcome.ok, outcome.error


def test_the_recorded_run_kept_two_inputs_whole_with_small_activity_inputs() -> None:
    assert WHOLE_INPUT in patch_ids(RECORDED)
    kept = _kept_whole(RECORDED)
    assert len(kept) == 2, "the oversized signal and the long comment's update; not the small one"
    assert all(len(json.dumps(k["input"])) < 2000 for k in kept)
    assert WHOLE_INPUT not in patch_ids(BEFORE)
    assert _kept_whole(BEFORE) == []
