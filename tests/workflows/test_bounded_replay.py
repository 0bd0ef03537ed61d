"""The `bounded-input` patch: a run recorded with it (oversized and repeated refusals, then a
long approval comment) replays, and so do runs recorded before it, waiting for approval."""

import json
from pathlib import Path

import pytest

from ops.replay import load_history, replay
from tests.recorded import patch_ids
from workflows.quote_to_cash import BOUNDED_INPUT

HISTORIES = Path(__file__).parents[1] / "histories"
RECORDED = HISTORIES / "bounded_input" / "hostile_input.json"
BEFORE = HISTORIES / "awaiting_approval.json"
"""Waiting for approval with a refusal, recorded before the patch."""


def _signals(path: Path) -> int:
    events = json.loads(path.read_text())["events"]
    return sum(e["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED" for e in events)


@pytest.mark.parametrize("path", [RECORDED, BEFORE], ids=["with-patch", "before-patch"])
async def test_runs_with_and_before_the_bounded_input_patch_replay(path: Path) -> None:
    [outcome] = await replay([(path.stem, load_history(path))])
    assert outcome.ok, outcome.error


def test_the_recorded_run_took_the_patch_and_25_refused_signals() -> None:
    assert patch_ids(RECORDED)[0] == BOUNDED_INPUT
    assert _signals(RECORDED) == 25
    assert BOUNDED_INPUT not in patch_ids(BEFORE)
