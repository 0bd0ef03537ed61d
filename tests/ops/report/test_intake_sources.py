"""The report counts what each intake source sent and got refused, from the intake's log."""

from datetime import UTC, datetime
from pathlib import Path

from ops.report.build import load
from ops.report.render import html
from starters.intake_http.store import IntakeRequest, IntakeStore

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _request(source: str, status: int, outcome: str) -> IntakeRequest:
    return IntakeRequest(
        received_at=NOW, source=source, status=status, outcome=outcome, latency_ms=12.0
    )


def test_each_source_s_requests_accepted_and_refusals(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    intake = IntakeStore(url=url)
    intake.create()
    intake.log(
        [
            _request("crm", 202, "started"),
            _request("crm", 202, "duplicate"),
            _request("crm", 401, "bad_signature"),
            _request("crm", 202, "dead_lettered"),
            _request("payments", 202, "unapplied"),
            _request("payments", 429, "rate_limited"),
            _request("payments", 429, "rate_limited"),
        ]
    )
    intake.dispose()

    report = load(url=url, now=NOW)

    # By hand: crm 4 requests, 2 accepted, 1 bad signature and 1 dead letter refused;
    # payments 3 requests, 1 accepted, 2 over its rate. Most incidents first.
    assert [(s.source, s.requests, s.accepted, s.refused) for s in report.intake_sources] == [
        ("crm", 4, 2, {"bad_signature": 1, "dead_lettered": 1}),
        ("payments", 3, 1, {"rate_limited": 2}),
    ]
    page = html(report)
    assert "Integration incidents per intake source" in page
    assert "bad_signature 1, dead_lettered 1" in page


def test_a_trail_without_an_intake_reports_no_sources(tmp_path: Path) -> None:
    assert load(url=f"sqlite:///{tmp_path / 'audit.db'}", now=NOW).intake_sources == []
