"""The intake over real HTTP, against the real dev server and systems service: each answer the
issue lists, and what each one leaves behind."""

import http.server
import json
import random
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from starters.intake_http.store import IntakeRequest
from tests.starters.intake.conftest import IntakeProcess, own_year, post, sign

pytestmark = [pytest.mark.e2e]
PROBLEM = "application/problem+json"


def _cycle(contract: str = "C-1001", *, year: int | None = None, **changes: Any) -> dict[str, Any]:
    """A billing_cycle.closed event of its own: an unused far-future year keeps its business key
    apart from every other test's on the shared dev server."""
    year = year or own_year()
    event = {
        "type": "billing_cycle.closed",
        "event_id": f"evt-{year}-{random.randint(0, 10**9)}",
        "schema_version": 1,
        "occurred_at": f"{year}-02-01T00:05:00Z",
        "contract_id": contract,
        "period_start": f"{year}-01-01",
        "period_end": f"{year}-02-01",
    }
    event.update(changes)
    return event


def _payment(**changes: Any) -> dict[str, Any]:
    event = {
        "type": "payment.succeeded",
        "event_id": f"evt-pay-{random.randint(0, 10**9)}",
        "schema_version": 2,
        "occurred_at": "2026-11-20T10:00:00+01:00",
        "invoice_number": f"INV-NOPE-{random.randint(0, 10**9)}",
        "payment_id": f"pi_{random.randint(0, 10**9)}",
        "amount": {"amount": "1190.00", "currency": "EUR"},
    }
    event.update(changes)
    return event


def _logged(intake: IntakeProcess, *webhook_ids: str) -> list[IntakeRequest]:
    """The request log once it holds these deliveries: it is written after each answer."""
    store = intake.store()
    try:
        deadline = time.monotonic() + 15
        while True:
            rows = store.requests()
            if set(webhook_ids) <= {row.webhook_id for row in rows}:
                return rows
            assert time.monotonic() < deadline, f"{webhook_ids} not logged"
            time.sleep(0.1)
    finally:
        store.dispose()


def _problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    return body


async def test_an_event_starts_its_run_once_and_a_retry_gets_the_first_answer(
    intake: IntakeProcess, dev_server_env: WorkflowEnvironment
) -> None:
    event = _cycle(year=2301)
    first = post(intake, event, webhook_id="msg_once")
    assert first.status_code == 202, first.text
    assert first.json()["outcome"] == "started"
    workflow_id = "q2c:C-1001:cycle:2301-01-01:2301-02-01"  # the business key, written out
    assert first.json()["workflow_id"] == workflow_id
    described = await dev_server_env.client.get_workflow_handle(workflow_id).describe()
    # The intake asked the CRM whose contract it is: the run's summary names the customer.
    assert await described.static_summary() == (
        "Billing cycle closed · contract C-1001 · customer CU-1001 · 2301-01-01 to 2301-01-31"
    )
    again = post(intake, event, webhook_id="msg_once")
    assert (again.status_code, again.json()) == (202, first.json())
    redelivered = post(intake, event, webhook_id="msg_other_id")
    assert redelivered.json()["outcome"] == "duplicate"
    after = await dev_server_env.client.get_workflow_handle(workflow_id).describe()
    assert after.run_id == described.run_id


def test_the_same_business_key_with_other_content_is_a_conflict_naming_both(
    intake: IntakeProcess,
) -> None:
    event = _cycle(year=2302, event_id="evt-a")
    assert post(intake, event).status_code == 202
    other = dict(event, event_id="evt-b", occurred_at="2302-02-02T00:00:00Z")
    body = _problem(post(intake, other), 409, "conflict")
    assert (body["existing_event"], body["new_event"]) == ("evt-a", "evt-b")
    assert "evt-a" in body["detail"] and "evt-b" in body["detail"]


def test_a_webhook_id_reused_with_another_body_is_a_conflict(intake: IntakeProcess) -> None:
    assert post(intake, _cycle(), webhook_id="msg_reused").status_code == 202
    body = _problem(post(intake, _cycle(), webhook_id="msg_reused"), 409, "conflict")
    assert body["webhook_id"] == "msg_reused"


def test_version_2_and_version_1_of_an_event_are_the_same_event(intake: IntakeProcess) -> None:
    event = _cycle(year=2303)
    assert post(intake, event).json()["outcome"] == "started"
    assert post(intake, dict(event, schema_version=2)).json()["outcome"] == "duplicate"


def test_a_signature_by_the_older_secret_of_a_rotation_is_accepted(
    intake: IntakeProcess,
) -> None:
    from starters.intake_http.signatures import signed_headers
    from tests.starters.intake.conftest import SECRETS

    raw = json.dumps(_cycle()).encode()
    headers = signed_headers(SECRETS["crm"][0], "msg_old_secret", int(time.time()), raw)
    headers["Content-Type"] = "application/json"
    response = httpx.post(f"{intake.url}/v1/events", content=raw, headers=headers)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda h: h.pop("webhook-signature"), "missing header: webhook-signature"),
        (lambda h: h.update({"webhook-signature": "v1,AAAA"}), "no signature matches"),
        (lambda h: h.update({"webhook-id": "msg_changed"}), "no signature matches"),
        (lambda h: h.update({"webhook-signature": "v2,abc"}), "no v1 signature"),
        (lambda h: h.update({"webhook-timestamp": "12.5"}), "not an integer"),
    ],
)
def test_a_bad_signature_is_401_with_the_reason(
    intake: IntakeProcess, mangle: Any, reason: str
) -> None:
    raw, headers = sign(_cycle())
    mangle(headers)
    response = httpx.post(f"{intake.url}/v1/events", content=raw, headers=headers)
    assert reason in _problem(response, 401, "unauthorized")["detail"]


def test_a_timestamp_six_minutes_old_is_refused(intake: IntakeProcess) -> None:
    response = post(intake, _cycle(), at=int(time.time()) - 6 * 60)
    assert "more than 300 seconds" in _problem(response, 401, "unauthorized")["detail"]


def test_a_source_may_only_send_its_types(intake: IntakeProcess) -> None:
    event = _cycle(type="contract.renewed")
    body = _problem(post(intake, event), 403, "forbidden")
    assert body["refused_types"] == ["contract.renewed"] and body["source"] == "crm"
    assert _problem(post(intake, _payment()), 403, "forbidden")["source"] == "crm"


def test_a_body_over_one_mebibyte_is_413(intake: IntakeProcess) -> None:
    raw = json.dumps({"events": [], "pad": "x" * (1024 * 1024)}).encode()
    _problem(post(intake, raw), 413, "too-large")


def test_a_body_that_is_not_json_is_415(intake: IntakeProcess) -> None:
    raw, headers = sign(_cycle())
    headers["Content-Type"] = "text/plain"
    response = httpx.post(f"{intake.url}/v1/events", content=raw, headers=headers)
    _problem(response, 415, "unsupported-media-type")


def test_an_invalid_event_is_422_with_a_pointer_to_each_field(intake: IntakeProcess) -> None:
    event = _cycle(period_end="2000-01-01", contract_id="C 1001")
    del event["occurred_at"]
    body = _problem(post(intake, event), 422, "invalid-event")
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/occurred_at", "/contract_id"}
    batch = {"events": [_cycle(), _cycle(period_end="1999-01-01")]}
    body = _problem(post(intake, batch), 422, "invalid-event")
    assert [e["pointer"] for e in body["errors"]] == ["/events/1/period_end"]
    assert body["errors"][0]["detail"] == "must be after period_start"


def test_an_unknown_version_names_the_versions_accepted(intake: IntakeProcess) -> None:
    body = _problem(post(intake, _cycle(schema_version=3)), 422, "unsupported-version")
    assert body["accepted_versions"] == [1, 2]
    assert "accepted versions: 1, 2" in body["detail"]


def test_a_batch_over_the_limit_is_refused_whole(intake: IntakeProcess) -> None:
    body = _problem(post(intake, {"events": [_cycle()] * 101}), 422, "invalid-event")
    assert "at most 100 events" in body["detail"]


async def test_a_batch_starts_each_run_and_reports_each_outcome(
    intake: IntakeProcess, dev_server_env: WorkflowEnvironment
) -> None:
    events = [_cycle(year=2400 + i) for i in range(5)]
    response = post(intake, {"events": [*events, events[0]]})
    assert response.status_code == 202, response.text
    outcomes = [r["outcome"] for r in response.json()["results"]]
    assert sorted(outcomes) == ["duplicate"] + ["started"] * 5
    for i in range(5):
        workflow_id = f"q2c:C-1001:cycle:{2400 + i}-01-01:{2400 + i}-02-01"
        await dev_server_env.client.get_workflow_handle(workflow_id).describe()


def test_an_unknown_contract_is_dead_lettered_and_redriven_once_the_crm_knows_it(
    intake: IntakeProcess,
) -> None:
    contract = f"C-NEW-{random.randint(0, 10**9)}"
    event = _cycle(contract, year=2310)
    response = post(intake, event)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["outcome"] == "dead_lettered"
    listed = intake.cli("intake", "dead-letters", "--json")
    letters = {row["id"]: row for row in json.loads(listed.stdout)}
    letter = letters[accepted["dead_letter_id"]]
    assert (letter["reason"], letter["workflow_id"]) == (
        "unknown_contract",
        f"q2c:{contract}:cycle:2310-01-01:2310-02-01",
    )
    assert post(intake, event).json()["outcome"] == "dead_lettered"  # a retry adds no letter
    assert len(json.loads(intake.cli("intake", "dead-letters", "--json").stdout)) == len(letters)
    _copy_contract("C-1001", contract, intake)
    redriven = intake.cli("intake", "redrive", str(letter["id"]))
    assert redriven.returncode == 0, redriven.stderr
    assert "started" in redriven.stdout
    remaining = json.loads(intake.cli("intake", "dead-letters", "--json").stdout)
    assert letter["id"] not in {row["id"] for row in remaining}
    assert intake.cli("intake", "redrive", "999999").returncode == 2


def _copy_contract(template: str, contract: str, intake: IntakeProcess) -> None:
    headers = {"Authorization": f"Bearer {intake.systems.token}"}
    crm = f"{intake.systems.url}/crm/contracts"
    body = httpx.get(f"{crm}/{template}", headers=headers).json()
    body["id"] = contract
    stored = httpx.put(f"{crm}/{contract}", headers=headers, json=body)
    assert stored.status_code in (200, 201), stored.text


def test_a_payment_no_run_owns_is_kept_as_unapplied_cash(intake: IntakeProcess) -> None:
    event = _payment(schema_version=1, amount="1190.00", currency="EUR")
    response = post(intake, event, source="payments")
    assert response.status_code == 202, response.text
    assert response.json()["outcome"] == "unapplied"
    assert post(intake, event, source="payments").json()["outcome"] == "unapplied"
    rows = json.loads(intake.cli("intake", "unapplied", "--json").stdout)
    mine = [row for row in rows if row["event_id"] == event["event_id"]]
    assert len(mine) == 1
    assert (mine[0]["amount"], mine[0]["currency"], mine[0]["reason"]) == (
        "1190.00",
        "EUR",
        "no_owner",
    )
    changed = dict(event, event_id="evt-other", amount="1.00")
    body = _problem(post(intake, changed, source="payments"), 409, "conflict")
    assert (body["existing_event"], body["new_event"]) == (event["event_id"], "evt-other")


def test_a_payment_for_a_run_no_worker_answers_is_refused_for_the_sender_to_retry(
    intake: IntakeProcess,
) -> None:
    # The run handles `record_payment`, but no worker runs here to answer the update: the
    # intake answers 503 (Temporal did not answer in time) and the provider sends it again.
    assert post(intake, _cycle(year=2320)).status_code == 202
    owner = "q2c:C-1001:cycle:2320-01-01:2320-02-01"
    event = _payment(posting_key=f"{owner}:credit-note", type="payment.refunded", refund_id="re_1")
    del event["invoice_number"]
    response = post(intake, event, source="payments")
    assert response.status_code == 503, response.text
    assert "Temporal did not answer" in response.text


def test_every_request_is_in_the_request_log(intake: IntakeProcess) -> None:
    event = _cycle(year=2330)
    post(intake, event, webhook_id="msg_logged")
    post(intake, _cycle(schema_version=9), webhook_id="msg_logged_bad")
    rows = {row.webhook_id: row for row in _logged(intake, "msg_logged", "msg_logged_bad")}
    logged = rows["msg_logged"]
    assert (logged.source, logged.event_id, logged.status, logged.outcome) == (
        "crm",
        event["event_id"],
        202,
        "started",
    )
    assert logged.workflow_id == "q2c:C-1001:cycle:2330-01-01:2330-02-01"
    assert logged.latency_ms > 0
    assert (rows["msg_logged_bad"].status, rows["msg_logged_bad"].outcome) == (
        422,
        "unsupported-version",
    )


def test_schemas_are_published_per_type_and_version(intake: IntakeProcess) -> None:
    index = httpx.get(f"{intake.url}/v1/schemas").json()
    assert index["payment.succeeded"] == [
        "/v1/schemas/payment.succeeded/1",
        "/v1/schemas/payment.succeeded/2",
    ]
    v1 = httpx.get(f"{intake.url}/v1/schemas/payment.succeeded/1").json()
    v2 = httpx.get(f"{intake.url}/v1/schemas/payment.succeeded/2").json()
    assert "currency" in v1["properties"] and "currency" not in v2["properties"]
    assert v2["properties"]["amount"]["$ref"].endswith("/Money")
    _problem(httpx.get(f"{intake.url}/v1/schemas/payment.succeeded/3"), 404, "not-found")
    assert httpx.get(f"{intake.url}/openapi.json").json()["info"]["title"] == "q2c event intake"


def test_incidents_are_counted_per_source(intake: IntakeProcess) -> None:
    from starters.intake_http.incidents import incidents_by_source

    post(intake, _cycle(type="contract.renewed"), webhook_id="msg_403")  # a 403 for crm
    post(intake, _payment(schema_version=7), source="payments", webhook_id="msg_422")
    by_source = {s.source: s for s in incidents_by_source(_logged(intake, "msg_403", "msg_422"))}
    assert by_source["crm"].by_outcome["forbidden"] >= 1
    assert by_source["payments"].by_outcome["unsupported-version"] >= 1
    listed = intake.cli("intake", "incidents")
    assert listed.returncode == 0 and "forbidden" in listed.stdout


def test_a_source_over_its_rate_gets_429_with_retry_after(
    dev_server_env: WorkflowEnvironment, intake: IntakeProcess, tmp_path: Path
) -> None:
    slow = IntakeProcess(
        tmp_path / "slow",
        intake.temporal_address,
        intake.systems,
        extra_env={"Q2C_INTAKE_RATE_PER_SECOND": "0.2", "Q2C_INTAKE_RATE_BURST": "2"},
    ).start()
    try:
        answers = [post(slow, _cycle()) for _ in range(3)]
        assert [a.status_code for a in answers[:2]] == [202, 202]
        body = _problem(answers[2], 429, "rate-limited")
        assert "crm" in body["detail"]
        assert answers[2].headers["retry-after"] == "5"  # 1 token at 0.2/s
        assert post(slow, _payment(), source="payments").status_code == 202  # its own budget
    finally:
        slow.stop()


@pytest.mark.parametrize(
    ("secrets", "reason"),
    [
        ('{"crm": ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}', "webhook_secrets.crm[0]: must start"),
        ('{"crm": ["whsec_%%%"]}', "webhook_secrets.crm[0]: not base64"),
        ('{"crm": ["whsec_c2hvcnQ="]}', "shorter than 24 bytes"),
        ('{"crm": []}', "webhook_secrets.crm: no secret"),
    ],
)
def test_bad_secrets_stop_the_intake_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, secrets: str, reason: str
) -> None:
    from pydantic import ValidationError

    from starters.intake_http.settings import IntakeSettings

    monkeypatch.setenv("Q2C_WEBHOOK_SECRETS", secrets)
    with pytest.raises(ValidationError, match=re.escape(reason)):
        IntakeSettings()


def test_q2c_send_signs_a_file_with_the_sources_secret_and_prints_the_answer(
    intake: IntakeProcess, tmp_path: Path
) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(_cycle(year=2304)))
    sent = intake.cli("send", str(path), "--source", "crm")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    answer = json.loads(sent.stdout)
    assert answer["outcome"] == "started"
    assert answer["workflow_id"] == "q2c:C-1001:cycle:2304-01-01:2304-02-01"


@pytest.mark.parametrize(
    ("body", "args", "code", "stream", "text"),
    [
        (None, ["--source", "erp"], 2, "stderr", "--source erp: no secret (known: crm, payments)"),
        ("absent", ["--source", "crm"], 2, "stderr", "absent.json: No such file or directory"),
        (
            '{"type": "billing_cycle.closed", "schema_version": 1}',
            ["--source", "crm"],
            2,
            "stdout",
            '"type": "/problems/invalid-event"',
        ),
        (
            None,
            ["--source", "crm", "--url", "http://127.0.0.1:9"],
            1,
            "stderr",
            "error: http://127.0.0.1:9:",
        ),
    ],
)
def test_q2c_send_refuses_bad_input_naming_it(
    intake: IntakeProcess,
    tmp_path: Path,
    body: str | None,
    args: list[str],
    code: int,
    stream: str,
    text: str,
) -> None:
    path = tmp_path / "absent.json"
    if body != "absent":
        path.write_text(body or json.dumps(_cycle()))
    sent = intake.cli("send", str(path), *args)
    assert sent.returncode == code, sent.stdout + sent.stderr
    assert text in " ".join(getattr(sent, stream).split())


def test_a_scope_with_an_unknown_event_type_stops_the_intake_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    from starters.intake_http.settings import IntakeSettings

    monkeypatch.setenv("Q2C_WEBHOOK_SCOPES", '{"crm": ["billing_cycle.closed", "invoice.paid"]}')
    reason = "webhook_scopes.crm: unknown event types ['invoice.paid']"
    with pytest.raises(ValidationError, match=re.escape(reason)):
        IntakeSettings()


def test_q2c_send_shows_an_answer_that_is_not_json_as_it_came(
    intake: IntakeProcess, tmp_path: Path
) -> None:
    # A proxy in front of the intake can answer with a page of its own: a real HTTP server
    # on loopback does that here, since the intake itself always answers JSON.
    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            page = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        path = tmp_path / "event.json"
        path.write_text(json.dumps(_cycle()))
        url = f"http://127.0.0.1:{server.server_address[1]}"
        sent = intake.cli("send", str(path), "--source", "crm", "--url", url)
    finally:
        server.shutdown()
        server.server_close()
    assert sent.returncode == 1, sent.stderr
    assert "Traceback" not in sent.stderr
    assert "502 Bad Gateway" in sent.stdout
