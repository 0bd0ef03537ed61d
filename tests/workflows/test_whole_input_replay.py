"""The `whole-input` patch: a run recorded with it (an oversized refused approval, a small
one, then an approval with a long comment) replays, with one `keep_whole_input` activity per
input kept cut and its marker only where the first was cut; runs recorded before it
(`bounded-input`'s, the same inputs kept cut alone) still replay. So does a run begun before
`bounded-input`, continued by a worker that keeps its input cut and writes it whole under
`whole-input-before-bounded`."""

import json
from pathlib import Path

import pytest

from ops.replay import load_history, replay
from tests.recorded import history_events, patch_ids
from workflows.quote_to_cash import BOUNDED_INPUT, LEAN_RUN
from workflows.whole_input import WHOLE_INPUT, WHOLE_INPUT_BEFORE_BOUNDED

HISTORIES = Path(__file__).parents[1] / "histories"
RECORDED = HISTORIES / "whole_input" / "oversized_approval.json"
BEFORE = HISTORIES / "bounded_input" / "hostile_input.json"
BEGUN_BEFORE_BOUNDED = HISTORIES / "whole_input" / "begun_before_bounded.json"
"""Begun without `bounded-input` (and `lean-run`); then an approver of 2,000 characters and
a stranger refused, and an approval whose comment is 3,003 characters long."""


def _kept_whole(path: Path) -> list[dict[str, object]]:
    return [
        e["activityTaskScheduledEventAttributes"]
        for e in history_events(path)
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        and e["activityTaskScheduledEventAttributes"]["activityType"]["name"] == "keep_whole_input"
    ]


@pytest.mark.parametrize(
    "path",
    [RECORDED, BEFORE, BEGUN_BEFORE_BOUNDED],
    ids=["with-patch", "before-patch", "begun-before-bounded"],
)
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


def test_the_run_begun_before_bounded_input_kept_its_two_long_inputs_whole() -> None:
    patches = patch_ids(BEGUN_BEFORE_BOUNDED)
    assert BOUNDED_INPUT not in patches and LEAN_RUN not in patches and WHOLE_INPUT not in patches
    assert patches.count(WHOLE_INPUT_BEFORE_BOUNDED) == 1
    kept = _kept_whole(BEGUN_BEFORE_BOUNDED)
    assert len(kept) == 2, "the long approver's signal and the long comment's; not the stranger"
    assert all(len(json.dumps(k["input"])) < 2000 for k in kept)
