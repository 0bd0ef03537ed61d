"""Recorded histories replay against today's workflow code; a break names its event."""

import asyncio
import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from ops.replay import HistoryFileError, history_files, load_history, replay
from schemas.runs import RunState
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService
from tests.encryption_keys import TEST_KEY_ID
from tests.events import cycle_closed
from tests.own_contracts import copy_contract
from tests.recorded import patch_ids
from workers.settings import Settings
from workers.worker import build_worker

HISTORIES = Path(__file__).parents[1] / "histories"
PRE_PATCH = HISTORIES / "pre_patch" / "straight_through.json"
PRE_LOCAL_STEPS = HISTORIES / "pre_local_steps"
PRE_RUN_OUTCOMES = HISTORIES / "pre_run_outcomes"
PRE_DELIVERY = HISTORIES / "pre_delivery"
PRE_LEAN_RUN = HISTORIES / "pre_lean_run"
runner = CliRunner()
BEFORE_COLLECTION = (
    "straight_through",
    "approval_approved",
    "approval_rejected",
    "approval_expired",
    "needs_attention",
    "amendment",
    "awaiting_approval",
)
"""Runs exported before any collection: straight through, each approval outcome, stopped for
a person, amended, and one still awaiting approval."""
MID_COLLECTION = (
    "dunning_reminded",
    "card_declined",
    "disputed",
    "dispute_credited",
    "payment_refunded",
    "charge_processing",
)
"""Runs exported while collecting, days after posting (recorded on the time-skipping server)."""
CASH_PATCHED = ("dispute_credited", "payment_refunded", "charge_processing")
"""Recorded with the cash patches (dispute-audit, charge-polling, collection-refunds,
dispute-credit-applied), before `lean-run`."""
ACTIVATION_BILLING = ("activation", "first_period_amendment", "first_close_after_activation")
"""Recorded with the activation-billing patch: C-1017's activation, then a change and the close
inside its first quarter."""


def _event_types(path: Path) -> list[str]:
    return [str(e["eventType"]) for e in json.loads(path.read_text())["events"]]


def test_the_recorded_scenarios_are_all_there() -> None:
    names = {p.stem for p in HISTORIES.glob("*.json")}
    assert names >= {*BEFORE_COLLECTION, *MID_COLLECTION, *ACTIVATION_BILLING}
    assert PRE_PATCH.exists()
    assert {p.stem for p in PRE_LOCAL_STEPS.glob("*.json")} == names - {
        "amendment",
        "awaiting_approval",
        *MID_COLLECTION,
        *ACTIVATION_BILLING,
    }
    assert {p.stem for p in PRE_RUN_OUTCOMES.glob("*.json")} == names - {
        "awaiting_approval",
        *MID_COLLECTION,
        *ACTIVATION_BILLING,
    }
    assert {p.stem for p in PRE_DELIVERY.glob("*.json")} == names - {
        *MID_COLLECTION,
        *ACTIVATION_BILLING,
    }
    assert {p.stem for p in PRE_LEAN_RUN.glob("*.json")} == names - {
        *CASH_PATCHED,
        *ACTIVATION_BILLING,
    }


@pytest.mark.parametrize("path", history_files([HISTORIES]), ids=lambda p: p.stem)
async def test_every_recorded_history_replays(path: Path) -> None:
    [outcome] = await replay([(str(path), load_history(path))])
    assert outcome.ok, outcome.error


THIN_INPUTS = HISTORIES / "thin_inputs"


@pytest.mark.parametrize("name", ["straight_through", "awaiting_approval"])
async def test_runs_from_before_and_since_the_thinner_inputs_have_the_same_commands(
    name: str,
) -> None:
    # fetch_usage, fetch_route_history, reconcile and deliver_document take fields, not the
    # contract and invoice: the inputs differ, the commands do not, so no patch guards it
    # and both replay.
    before, since = HISTORIES / f"{name}.json", THIN_INPUTS / f"{name}.json"
    assert _event_types(before) == _event_types(since)
    assert _activities(before) == _activities(since)
    assert '"contract_id"' in _scheduled_json(since, "fetch_usage")
    assert '"like"' not in _scheduled_json(since, "fetch_route_history")
    assert '"like"' in _scheduled_json(before, "fetch_route_history")
    if name == "straight_through":  # a run awaiting approval has not reconciled yet
        assert '"invoice"' in _scheduled_json(before, "reconcile")
        assert '"invoice"' not in _scheduled_json(since, "reconcile")
        assert '"contract"' in _scheduled_json(before, "deliver_document")
        assert '"terms"' in _scheduled_json(since, "deliver_document")
    for path in (before, since):
        [outcome] = await replay([(str(path), load_history(path))])
        assert outcome.ok, outcome.error


def _scheduled_json(path: Path, activity_type: str) -> str:
    for event in json.loads(path.read_text())["events"]:
        scheduled = event.get("activityTaskScheduledEventAttributes")
        if scheduled and scheduled["activityType"]["name"] == activity_type:
            return base64.b64decode(scheduled["input"]["payloads"][0]["data"]).decode()
    raise AssertionError(f"no {activity_type} in {path}")


async def test_a_run_recorded_before_the_memo_patch_replays_with_the_patched_code() -> None:
    # Before the patch: no marker, no memo change. After it: both, in that order.
    assert "EVENT_TYPE_MARKER_RECORDED" not in _event_types(PRE_PATCH)
    assert "EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED" not in _event_types(PRE_PATCH)
    current = _event_types(HISTORIES / "straight_through.json")
    marker = current.index("EVENT_TYPE_MARKER_RECORDED")
    assert current.index("EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED") > marker
    [outcome] = await replay([("pre-patch", load_history(PRE_PATCH))])
    assert outcome.ok, outcome.error


def _count(path: Path, event_type: str) -> int:
    return _event_types(path).count(event_type)


@pytest.mark.parametrize("name", ["straight_through", "approval_approved", "approval_rejected"])
async def test_runs_recorded_before_local_steps_replay_their_own_steps(name: str) -> None:
    # Before the patch every step was an activity on the task queue and every state its own
    # upsert; a run waiting for approval across the deploy must replay exactly that.
    before, after = PRE_LOCAL_STEPS / f"{name}.json", PRE_DELIVERY / f"{name}.json"
    assert _count(before, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED") > _count(
        after, "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    )
    upserts = "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"
    assert _count(before, upserts) > _count(after, upserts)
    [outcome] = await replay([(name, load_history(before))])
    assert outcome.ok, outcome.error


def _local_activities(path: Path) -> list[str]:
    history = json.loads(path.read_text())
    return [
        e["markerRecordedEventAttributes"]["markerName"]
        for e in history["events"]
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
    ]


def test_a_new_run_rates_taxes_and_routes_in_local_activities() -> None:
    markers = _local_activities(HISTORIES / "straight_through.json")
    assert markers.count("core_local_activity") == 3
    assert "core_patch" in markers


def _activities(path: Path) -> list[str]:
    history = json.loads(path.read_text())
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in history["events"]
        if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ]


VALIDATE, USAGE, HISTORY = "validate_customer", "fetch_usage", "fetch_route_history"
POST, RECONCILE, RECORD = "post_invoice", "reconcile", "record_handoff"
DELIVER, CORRECTED = "deliver_document", "find_corrected_invoice"


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        (
            "straight_through",
            [VALIDATE, USAGE, POST, RECONCILE],
            [VALIDATE, USAGE, HISTORY, POST, RECONCILE, RECORD],
        ),
        ("needs_attention", [VALIDATE], [VALIDATE, RECORD]),
        (
            "approval_expired",
            [VALIDATE, USAGE, "notify"],
            [VALIDATE, USAGE, HISTORY, "notify", RECORD],
        ),
        (
            "approval_rejected",
            [VALIDATE, USAGE, RECORD, RECORD],
            [VALIDATE, USAGE, HISTORY, RECORD, RECORD],
        ),
    ],
)
def test_a_new_run_reads_the_route_history_and_records_its_own_outcome(
    name: str, before: list[str], after: list[str]
) -> None:
    # Activities on the task queue (rating, tax and routing are local: markers, not here).
    # Before: a posted, blocked or expired run's outcome had no command of its own (the audit
    # interceptor read it off activity results), and `route` read the history itself.
    old, new = PRE_RUN_OUTCOMES / f"{name}.json", PRE_DELIVERY / f"{name}.json"
    assert (_activities(old), _activities(new)) == (before, after)
    assert "run-outcomes" in patch_ids(new) and "run-outcomes" not in patch_ids(old)


@pytest.mark.parametrize(
    ("name", "delivered"),
    [
        ("straight_through", [DELIVER]),
        ("approval_approved", [DELIVER]),
        # The credit note first: the invoice it corrects is looked up, then both are sent.
        ("amendment", [CORRECTED, DELIVER, DELIVER]),
        ("needs_attention", []),
        ("approval_rejected", []),
    ],
)
def test_a_new_posted_run_delivers_each_document_before_its_outcome(
    name: str, delivered: list[str]
) -> None:
    old, new = PRE_DELIVERY / f"{name}.json", PRE_LEAN_RUN / f"{name}.json"
    before = [a for a in _activities(old) if a != RECORD]
    after = [a for a in _activities(new) if a != RECORD]
    assert after == before + delivered
    assert ("delivery" in patch_ids(new)) == bool(delivered)
    assert "delivery" not in patch_ids(old)


async def test_runs_recorded_before_delivery_replay_and_end_posted() -> None:
    histories = [(p.stem, load_history(p)) for p in history_files([PRE_DELIVERY])]
    outcomes = await replay(histories)
    assert [(o.ok, o.error) for o in outcomes] == [(True, None)] * len(histories)


async def test_runs_recorded_before_run_outcomes_replay_without_the_new_commands() -> None:
    histories = [(p.stem, load_history(p)) for p in history_files([PRE_RUN_OUTCOMES])]
    outcomes = await replay(histories)
    assert [(o.ok, o.error) for o in outcomes] == [(True, None)] * len(histories)


def test_a_run_waiting_for_approval_is_recorded_mid_wait() -> None:
    path = HISTORIES / "awaiting_approval.json"
    types = _event_types(path)
    assert "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED" not in types
    assert types.count("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED") == 1  # a refused decision
    assert types.count("EVENT_TYPE_TIMER_FIRED") == 1  # the reminder
    assert _activities(path)[-1] == "notify"


def _tampered(tmp_path: Path) -> tuple[Path, int]:
    """The straight-through history with its second activity renamed: code and history differ."""
    history = json.loads((HISTORIES / "straight_through.json").read_text())
    scheduled = [
        e for e in history["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
    ]
    scheduled[1]["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "fetch_usage_v0"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(history))
    return path, int(scheduled[1]["eventId"])


async def test_a_history_that_no_longer_matches_the_code_fails_with_its_event_id(
    tmp_path: Path,
) -> None:
    path, event_id = _tampered(tmp_path)
    [outcome] = await replay([(str(path), load_history(path))])
    assert not outcome.ok
    assert outcome.error is not None and "Nondeterminism" in outcome.error
    assert outcome.event_id == event_id


def test_the_cli_prints_ok_per_history_and_exits_zero() -> None:
    result = runner.invoke(build_app(), ["replay", str(HISTORIES)])
    assert result.exit_code == 0, result.output
    assert result.output.count("OK") == len(history_files([HISTORIES]))
    assert "0 failed" in result.output


def test_the_cli_names_the_failing_history_and_event_and_exits_non_zero(tmp_path: Path) -> None:
    path, event_id = _tampered(tmp_path)
    result = runner.invoke(build_app(), ["replay", str(PRE_PATCH), str(path)])
    assert result.exit_code == 1, result.output
    assert "OK" in result.output and "FAIL" in result.output
    assert f"at event {event_id}" in result.output
    assert "1 failed" in result.output


@pytest.mark.parametrize(
    ("content", "reason"),
    [("not json", "not JSON"), ('{"runs": []}', 'no "events" list'), ("", "not JSON")],
)
def test_a_file_that_is_not_a_history_is_refused_by_name(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "odd.json"
    path.write_text(content)
    with pytest.raises(HistoryFileError, match=reason):
        load_history(path)
    result = runner.invoke(build_app(), ["replay", str(path)])
    assert result.exit_code == 2
    assert "odd.json" in result.output and reason in result.output


def test_the_cli_without_histories_says_what_it_needs() -> None:
    result = runner.invoke(build_app(), ["replay"])
    assert result.exit_code == 2
    assert "--workflow-id" in result.output


@pytest.mark.e2e
async def test_the_cli_fetches_histories_by_workflow_id_and_by_query(
    dev_server_env: WorkflowEnvironment, systems: SystemsService, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = dev_server_env.client
    settings = Settings(
        task_queue=f"q2c-replay-{uuid.uuid4()}", systems_url=systems.url, smtp_url=systems.smtp_url
    )
    contract = (await copy_contract(systems, "C-1004")).contract_id  # posts under its own key
    event = cycle_closed(contract, 3)
    async with (
        systems.client() as http,
        build_worker(client, settings=settings, http=http, delivery_log=systems.delivery_log),
    ):
        outcome = await start_run(client, event, task_queue=settings.task_queue, collect=False)
        result = await run_handle(client, outcome.workflow_id).result()
    assert result.state is RunState.DELIVERED
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    by_id = await asyncio.to_thread(
        runner.invoke, build_app(), ["replay", "--workflow-id", outcome.workflow_id]
    )
    assert by_id.exit_code == 0, by_id.output
    assert f"OK   server:{outcome.workflow_id}" in by_id.output
    by_query = await asyncio.to_thread(
        runner.invoke, build_app(), ["replay", "--query", f'WorkflowId = "{outcome.workflow_id}"']
    )
    assert by_query.exit_code == 0, by_query.output
    assert "1 replayed, 0 failed" in by_query.output
    unknown = await asyncio.to_thread(
        runner.invoke, build_app(), ["replay", "--workflow-id", "q2c:no-such-run"]
    )
    assert unknown.exit_code == 2
    assert "could not fetch" in unknown.output


ENCRYPTED = HISTORIES / "encrypted"


def _payloads(node: object, path: tuple[str, ...] = ()) -> list[tuple[str, dict[str, Any]]]:
    """Every payload in an exported history (an object with `metadata` and `data`), with the
    names of the fields it is under, joined by dots."""
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and "encoding" in node["metadata"]:
            return [(".".join(path), node)]
        return [f for key, value in node.items() for f in _payloads(value, (*path, key))]
    if isinstance(node, list):
        return [f for value in node for f in _payloads(value, path)]
    return []


def _encoding(payload: dict[str, Any]) -> bytes:
    return base64.b64decode(payload["metadata"]["encoding"])


@pytest.mark.parametrize("path", sorted(ENCRYPTED.glob("*.json")), ids=lambda p: p.stem)
async def test_encrypted_recordings_hold_only_ciphertext_and_replay(path: Path) -> None:
    found = _payloads(json.loads(path.read_text()))
    sealed = [p for _, p in found if _encoding(p) == b"binary/encrypted"]
    assert sealed
    key_ids = {base64.b64decode(p["metadata"]["encryption-key-id"]) for p in sealed}
    assert key_ids == {TEST_KEY_ID.encode()}
    # What stays readable: search attributes (the server indexes them; they name no one) and
    # the SDK's own marker data (patch ids, a local activity's timing), never a value of q2c's.
    plain = {where for where, p in found if _encoding(p) != b"binary/encrypted"}
    for where in plain:
        assert ".searchAttributes." in where or where.endswith(
            (
                "markerRecordedEventAttributes.details.patch-data.payloads",
                "markerRecordedEventAttributes.details.data.payloads",
            )
        ), where
    [outcome] = await replay([(str(path), load_history(path))])
    assert outcome.ok, outcome.error


async def test_an_encrypted_history_without_its_key_fails_naming_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = base64.b64encode(bytes(32)).decode()
    monkeypatch.setenv("Q2C_ENCRYPTION_KEYS", json.dumps({"q2c-other": other}))
    path = ENCRYPTED / "approval_approved.json"
    [outcome] = await replay([(str(path), load_history(path))])
    assert not outcome.ok
    assert f"key id '{TEST_KEY_ID}'" in str(outcome.error)


def _timers(path: Path) -> int:
    return _count(path, "EVENT_TYPE_TIMER_FIRED")


@pytest.mark.parametrize(
    ("name", "tail", "timers"),
    [
        # Unpaid a day past due: the invoice's delivery, then the plan, then the reminder's
        # e-mail at its level's timer (the due date's, then a day later's); the rest waits.
        ("dunning_reminded", ["deliver_document", "plan_collection", "deliver_document"], 2),
        # The card schedule's first day is the due date: one timer, one declined charge.
        ("card_declined", ["deliver_document", "plan_collection", "charge_payment"], 1),
        # Disputed before it fell due: no timer has fired, no charge or reminder went out.
        ("disputed", ["deliver_document", "plan_collection"], 0),
    ],
)
async def test_runs_caught_mid_collection_replay_where_they_stopped(
    name: str, tail: list[str], timers: int
) -> None:
    path = HISTORIES / f"{name}.json"
    assert _activities(path)[-len(tail) :] == tail
    assert _timers(path) == timers
    # The collection phase is patched: by its own marker before `lean-run`, by that one since.
    assert "collection" in patch_ids(PRE_LEAN_RUN / f"{name}.json")
    assert patch_ids(path) == ["lean-run"]
    last = json.loads(path.read_text())["events"][-1]["eventType"]
    assert last != "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"  # still waiting, as a deploy finds it
    [outcome] = await replay([(name, load_history(path))])
    assert outcome.ok, outcome.error


@pytest.mark.parametrize("name", ["needs_attention", "approval_expired"])
async def test_a_run_needing_attention_names_its_code_in_a_search_attribute_since_the_patch(
    name: str,
) -> None:
    # Recorded before the patch: no marker, no ReasonCode; since: both, in the upsert that
    # shows NeedsAttention. Both replay on today's code.
    before, since = HISTORIES / f"{name}.json", HISTORIES / "reason_code" / f"{name}.json"
    assert "reason-code-attribute" not in patch_ids(before)
    assert "ReasonCode" not in [key for upsert in _upserted(before) for key in upsert]
    assert "reason-code-attribute" in patch_ids(since)
    assert sum("ReasonCode" in upsert for upsert in _upserted(since)) == 1
    for path in (before, since):
        [outcome] = await replay([(path.name, load_history(path))])
        assert outcome.ok, outcome.error


FIND_ACTIVATION = "find_activation"


@pytest.mark.parametrize(
    ("name", "activities"),
    [
        # The activation reads no usage; the change and the close ask the ERP first.
        ("activation", [VALIDATE, HISTORY, POST, RECONCILE, DELIVER, RECORD]),
        (
            "first_period_amendment",
            [VALIDATE, "fetch_contract", FIND_ACTIVATION, HISTORY, POST, POST]
            + [RECONCILE, RECONCILE, CORRECTED, DELIVER, DELIVER, RECORD],
        ),
        (
            "first_close_after_activation",
            [VALIDATE, FIND_ACTIVATION, USAGE, HISTORY, POST, RECONCILE, DELIVER, RECORD],
        ),
    ],
)
def test_activation_billing_runs_record_their_patch_and_steps(
    name: str, activities: list[str]
) -> None:
    path = HISTORIES / f"{name}.json"
    assert _activities(path) == activities
    assert "activation-billing" in patch_ids(path)


def test_a_run_recorded_before_activation_billing_asks_the_erp_nothing() -> None:
    for path in history_files([HISTORIES]):
        # overlap/: recorded since, with activation billing and the lookups after it.
        if path.stem not in ACTIVATION_BILLING and path.parent.name != "overlap":
            assert FIND_ACTIVATION not in _activities(path), path
            assert "activation-billing" not in patch_ids(path), path


@pytest.mark.parametrize(
    ("name", "patch", "activity"),
    [
        ("dispute_credited", "dispute-audit", "record_handoff"),
        ("dispute_credited", "dispute-credit-applied", "apply_credit_note"),
        ("payment_refunded", "collection-refunds", "post_refund"),
        ("charge_processing", "charge-polling", "fetch_payment"),
    ],
)
async def test_the_cash_patches_are_recorded_and_the_runs_from_before_them_replay(
    name: str, patch: str, activity: str
) -> None:
    # The new history carries the marker and the new activity; the disputed and declined
    # runs recorded before (waiting across the deploy) replay without either.
    assert patch in patch_ids(HISTORIES / f"{name}.json")
    assert activity in _activities(HISTORIES / f"{name}.json")
    for before in ("disputed", "card_declined", "dunning_reminded"):
        assert patch not in patch_ids(HISTORIES / f"{before}.json")
        [outcome] = await replay([(before, load_history(HISTORIES / f"{before}.json"))])
        assert outcome.ok, outcome.error


UPSERTS = "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES"
SCENARIOS = (
    *BEFORE_COLLECTION,
    *(name for name in MID_COLLECTION if name not in CASH_PATCHED),
)


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_lean_run_keeps_its_steps_with_one_patch_marker(name: str) -> None:
    # The same activities in the same order; one patch marker where there were up to five,
    # each with the SDK's upsert of TemporalChangeVersion, and no upsert for a passing state.
    old, new = PRE_LEAN_RUN / f"{name}.json", HISTORIES / f"{name}.json"
    assert _activities(new) == _activities(old)
    assert patch_ids(new) == ["lean-run"]
    assert _count(new, UPSERTS) < _count(old, UPSERTS)


def _upserted(path: Path) -> list[dict[str, Any]]:
    history = json.loads(path.read_text())
    return [
        {
            # An attribute unset by the upsert has no data.
            key: json.loads(base64.b64decode(value["data"])) if "data" in value else None
            for key, value in e["upsertWorkflowSearchAttributesEventAttributes"][
                "searchAttributes"
            ]["indexedFields"].items()
        }
        for e in history["events"]
        if e["eventType"] == UPSERTS
    ]


def test_a_straight_through_run_lists_its_end_in_one_upsert() -> None:
    # Counted by hand from the recording: the SDK's TemporalChangeVersion for the marker,
    # then the end with everything the UI's list filters on.
    upserts = _upserted(HISTORIES / "straight_through.json")
    assert len(upserts) == 2
    assert set(upserts[0]) == {"TemporalChangeVersion"}
    assert upserts[1]["Q2CStatus"] == "Delivered"
    assert set(upserts[1]) == {"Q2CStatus", "CustomerId", "InvoiceTotal", "RiskLevel"}


def test_a_run_waiting_for_approval_lists_what_it_listed_before() -> None:
    # While it waits, the UI's list shows the same attributes with the same values.
    def listed(path: Path) -> dict[str, Any]:
        shown: dict[str, Any] = {}
        for upsert in _upserted(path):
            shown.update(upsert)
        shown.pop("TemporalChangeVersion", None)
        return shown

    old, new = PRE_LEAN_RUN / "awaiting_approval.json", HISTORIES / "awaiting_approval.json"
    assert listed(new)["Q2CStatus"] == "AwaitingApproval"
    assert {k: v for k, v in listed(new).items() if k != "ApprovalDueAt"} == {
        k: v for k, v in listed(old).items() if k != "ApprovalDueAt"
    }
    assert "ApprovalDueAt" in listed(new)


OVERLAP = HISTORIES / "overlap"
"""Runs that may bill the same fees (devstack/histories_overlap.py): each looked the other
run up; the close waited for an activation awaiting approval; the renewal found the close;
an activation reset after it and the close posted kept its invoice."""


def test_the_overlap_histories_record_their_lookups_and_waits() -> None:
    waited = OVERLAP / "close_waited_for_activation.json"
    assert "activation-settled" in patch_ids(waited)
    assert "renewal-once" in patch_ids(OVERLAP / "renewal_after_close.json")
    # Reset to its first task after it posted, the activation went on with its own invoice.
    reset = OVERLAP / "activation_reset_after_close.json"
    assert "activation-own-invoice" in patch_ids(reset)
    assert _count(reset, "EVENT_TYPE_WORKFLOW_TASK_FAILED") == 1  # the reset's mark
    fired = _count(waited, "EVENT_TYPE_TIMER_FIRED")
    assert fired >= 1  # at least one poll while the activation awaited approval


@pytest.mark.parametrize("path", history_files([OVERLAP]), ids=lambda p: p.stem)
async def test_the_overlap_histories_replay(path: Path) -> None:
    [outcome] = await replay([(str(path), load_history(path))])
    assert outcome.ok, outcome.error


FANOUT = HISTORIES / "calendar_fanout" / "fanout_with_skips.json"
"""One fire's fan-out that skipped a contract (devstack/histories_overlap.py)."""


async def test_the_fan_out_history_records_its_skips_and_replays() -> None:
    assert "calendar-skips-recorded" in patch_ids(FANOUT)
    assert "record_skipped" in _activities(FANOUT)
    [outcome] = await replay([(FANOUT.name, load_history(FANOUT))])  # q2c replay's workflows
    assert outcome.ok, outcome.error
