"""Chaos: the checker catches every way exactly-once can break, and a small run passes it."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from billing.journal import journal_for
from cli import build_app
from devstack.chaos import ChaosPlan, chaos_events, check, count_check
from devstack.chaos_keys import MAX_RUNS
from schemas.invoice import Invoice, InvoiceLine
from schemas.journal import JournalEntry, Posting
from schemas.runs import RunState, RunStatus

KEY = "q2c:C-1001:cycle:2026-01-01:2026-02-01"


def _invoice(total: str = "119.00", invoice_id: str = KEY[4:]) -> Invoice:
    subtotal = Decimal("100.00")
    return Invoice(
        invoice_id=invoice_id,
        contract_id="C-1001",
        customer_id="CU-1001",
        currency="EUR",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 2, 1),
        lines=[
            InvoiceLine(
                line_id="L1",
                charge_id="platform",
                description="Platform",
                charge_model="standard",
                amount=subtotal,
                unrounded_amount=subtotal,
                rule="flat",
            )
        ],
        subtotal=subtotal,
        tax_total=Decimal(total) - subtotal,
        total=Decimal(total),
    )


def _posted(invoice: Invoice | None = None, key: str = KEY) -> RunStatus:
    invoice = invoice or _invoice()
    return RunStatus(
        state=RunState.POSTED,
        contract_id="C-1001",
        invoice=invoice,
        total=invoice.total,
        currency=invoice.currency,
        posting_key=key,
        erp_document_id="INV-000001",
    )


def _posting(
    invoice: Invoice | None = None, key: str = KEY, document: str = "INV-000001"
) -> Posting:
    invoice = invoice or _invoice()
    return Posting(
        posting_key=key,
        erp_document_id=document,
        invoice=invoice,
        journal=journal_for(invoice),
        posted_at=datetime(2026, 11, 26, tzinfo=UTC),
    )


BALANCED = {"debits": Decimal("119.00"), "credits": Decimal("119.00")}


def test_one_posting_equal_to_its_invoice_is_clean() -> None:
    assert check(runs={KEY: _posted()}, postings=[_posting()], **BALANCED) == []


def test_a_posted_run_without_a_posting_is_missing() -> None:
    [finding] = check(runs={KEY: _posted()}, postings=[], **BALANCED)
    assert (finding.kind, finding.key) == ("missing", KEY)


def test_the_same_invoice_under_a_second_key_is_a_duplicate() -> None:
    postings = [_posting(), _posting(key="q2c:retry-with-a-random-key", document="INV-000002")]
    [finding] = check(runs={KEY: _posted()}, postings=postings, **BALANCED)
    assert finding.kind == "duplicate"
    assert "INV-000001" in finding.detail and "INV-000002" in finding.detail


def test_a_posting_that_differs_from_the_invoice_is_a_mismatch() -> None:
    [finding] = check(runs={KEY: _posted()}, postings=[_posting(_invoice("120.00"))], **BALANCED)
    assert finding.kind == "mismatch"
    assert "total: run 119.00, ERP 120.00" in finding.detail


def test_a_posting_whose_document_number_the_run_does_not_know_is_a_mismatch() -> None:
    [finding] = check(runs={KEY: _posted()}, postings=[_posting(document="INV-000009")], **BALANCED)
    assert finding.kind == "mismatch" and "INV-000009" in finding.detail


def test_an_unbalanced_journal_entry_is_a_mismatch_and_unbalanced_totals_are_flagged() -> None:
    posting = _posting()
    posting.journal.append(JournalEntry(account="9999", debit=Decimal("1.00"), credit=Decimal(0)))
    findings = check(
        runs={KEY: _posted()},
        postings=[posting],
        debits=Decimal("120.00"),
        credits=Decimal("119.00"),
    )
    assert {f.kind for f in findings} == {"mismatch", "unbalanced"}
    assert any("journal.balance" in f.detail for f in findings)


def test_a_run_that_did_not_settle_or_needs_attention_is_not_posted() -> None:
    attention = RunStatus(
        state=RunState.NEEDS_ATTENTION, contract_id="C-1001", reason_code="x", reason="broken"
    )
    findings = check(
        runs={KEY: None, "q2c:other": attention}, postings=[], debits=Decimal(0), credits=Decimal(0)
    )
    assert sorted((f.kind, f.key) for f in findings) == [
        ("not_posted", KEY),
        ("not_posted", "q2c:other"),
    ]
    assert any("broken" in f.detail for f in findings)


def test_a_posting_no_run_asked_for_is_unexpected() -> None:
    stray = _posting(_invoice(invoice_id="C-1001:cycle:2026-02-01:2026-03-01"), key="q2c:stray")
    findings = check(runs={KEY: _posted()}, postings=[_posting(), stray], **BALANCED)
    assert [(f.kind, f.key) for f in findings] == [("unexpected", "q2c:stray")]


def test_a_report_that_counts_a_run_twice_is_miscounted() -> None:
    runs = {KEY: _posted(), "q2c:other": _posted()}
    assert count_check(runs, counted_runs=2, counted_posted=2) == []
    findings = count_check(runs, counted_runs=3, counted_posted=3)
    assert [(f.kind, f.key, f.detail) for f in findings] == [
        ("miscounted", "report.runs", "3, expected 2"),
        ("miscounted", "report.posted", "3, expected 2"),
    ]


def test_chaos_events_have_distinct_business_keys() -> None:
    events = chaos_events(MAX_RUNS)
    assert len({e.business_key for e in events}) == MAX_RUNS
    assert {e.contract_id for e in events}.isdisjoint({"C-1009", "C-1010"})
    assert all(e.period_start.year == 2026 for e in events)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"runs": 0}, "runs"),
        ({"runs": MAX_RUNS + 1}, "runs"),
        ({"kill_worker": -1}, "kill_worker"),
        ({"erp_fault_rate": 1.5}, "erp_fault_rate"),
        ({"latency_ms": -5}, "latency_ms"),
        ({"reset": -1}, "reset"),
        ({"retry_cap": 0}, "retry_cap"),
    ],
)
def test_a_bad_plan_is_refused_by_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ChaosPlan(**kwargs)  # type: ignore[arg-type]
    option = "--" + field.replace("_", "-")
    result = CliRunner().invoke(build_app(), ["chaos", option, str(next(iter(kwargs.values())))])
    assert result.exit_code == 2 and field in result.output


@pytest.mark.e2e
def test_a_small_chaos_run_posts_and_collects_every_run_exactly_once(tmp_path: Path) -> None:
    args = ["chaos", "--runs", "12", "--kill-worker", "1", "--restart-server", "1", "--reset", "2"]
    # 0.4: with at least 12 ERP writes, a run without a single dropped response (0.6^12)
    # is too rare to make this test flaky. At that rate a post can fail six or seven times in
    # a row; the runs' backoff (1, 2, 4 … 60 s) would then wait 63 to 123 s for nothing, so
    # the worker retries at most 0.2 s apart (Q2C_RETRY_DELAY_CAP_SECONDS): the same attempts
    # and failures, without the waits. A throttled call still waits its Retry-After (1 s).
    args += ["--erp-fault-rate", "0.4", "--retry-cap", "0.2"]
    args += ["--timeout", "420", "--home", str(tmp_path), "--json"]
    # The cash phase too: the provider fails, throttles or loses an answer after charging on
    # 0.3 of its calls; a charge then takes its own retries (and the payment's ERP post its
    # own).
    args += ["--payments-fault-rate", "0.3"]
    result = CliRunner().invoke(build_app(), args)
    assert result.output.strip(), f"no report: {result.exception!r}"
    report = json.loads(result.output)
    assert result.exit_code == 0, (report["findings"], _not_replayed(tmp_path))
    assert report["ok"] and report["findings"] == []
    assert report["runs"] == report["posted"] == report["postings"] == 12
    assert report["debits"] == report["credits"]
    # Every run paid: the 6 card runs (C-1001, C-1002, C-1003, C-1012 in January, C-1001 and
    # C-1002 in February) charged once each, the 6 bank-transfer runs paid by one update
    # sent twice; one ERP cash posting each.
    assert (report["paid"], report["charges"], report["cash_postings"]) == (12, 6, 12)
    actions = [a["what"] for a in report["actions"]]
    # One kill among the billing runs, one under the monthly revenue recognition.
    assert actions.count("worker killed (SIGKILL)") == 2
    assert report["revenue_entries"] == 2, "one entry per currency of the prepaid fees"
    assert actions.count("Temporal dev server stopped") == 1
    # Two posted runs reset to their first task post nothing twice, and count once.
    assert sum(a.endswith("to its first workflow task") for a in actions) == 2
    assert report["reset"] == 2
    assert report["report_runs"] == report["report_posted"] == 12
    # Every history replays with today's code: 12 runs, the 2 reset runs' first runs, and
    # the 2 recognition runs (the killed one and the one after it).
    assert report["replayed"] == 16
    # The ERP really lost responses after committing, and the retries found the postings.
    systems_log = (tmp_path / "logs" / "systems.log").read_text()
    assert '"POST /erp/postings HTTP/1.1" 504' in systems_log
    assert "/payments/payment_intents" in systems_log


def _not_replayed(home: Path) -> dict[str, list[str]]:
    """Each history the drill could not replay, in outline: the test's output is all that
    survives a CI run."""
    from devstack.chaos_replay import outline
    from ops.replay import load_history

    return {path.name: outline(load_history(path)) for path in home.glob("not-replayed/*.json")}


def _collected(paid: list[tuple[str, str]], total: str = "119.00") -> RunStatus:
    """A run that collected `paid` ((reference, amount) applied) against a 119.00 invoice."""
    from schemas.collection import CashEntry, CollectionProgress

    entries = [
        CashEntry(
            kind="payment", reference=ref, amount=Decimal(amount), applied=Decimal(amount),
            value_date=date(2026, 2, 1), posting_key=f"{KEY}:payment:{ref}",
            erp_document_id=f"PAY-{i}",
        )
        for i, (ref, amount) in enumerate(paid)
    ]  # fmt: skip
    collection = CollectionProgress(
        payment_method="auto_collect", posted_on=date(2026, 2, 1),
        due_at=datetime(2026, 2, 1, tzinfo=UTC), currency="EUR", total=Decimal(total),
        amount_due=Decimal(0), paid=Decimal(total), entries=entries,
    )  # fmt: skip
    return RunStatus(state=RunState.PAID, contract_id="C-1001", collection=collection)


def _cash_posting(ref: str, amount: str) -> Any:
    from schemas.payments import CashPosting

    return CashPosting(
        posting_key=f"{KEY}:payment:{ref}", cash_document_id="PAY-1", kind="payment",
        document="INV-000001", customer_id="CU-1001", amount=Decimal(amount),
        currency="EUR", applied=Decimal(amount), to_credit=Decimal(0), open_after=Decimal(0),
        value_date=date(2026, 2, 1), reference=ref, journal=[],
    )  # fmt: skip


def test_the_cash_check_finds_a_double_charge_and_a_double_application() -> None:
    from devstack.chaos_cash import Intent, check_cash

    run = _collected([("pi_1", "119.00")])
    intents = [
        Intent(id=i, status="succeeded", amount_received=11900, metadata={"run_id": KEY})
        for i in ("pi_1", "pi_2")
    ]
    postings = [_cash_posting("pi_1", "119.00"), _cash_posting("pi_2", "119.00")]
    found = check_cash(runs={KEY: run}, intents=intents, postings=postings)
    assert sorted(kind for kind, _, _ in found) == [
        "double_application", "double_application", "double_charge",
    ]  # fmt: skip
    clean = check_cash(runs={KEY: run}, intents=intents[:1], postings=postings[:1])
    assert clean == []


def test_the_cash_check_finds_a_payment_the_erp_lacks_and_a_run_not_paid() -> None:
    from devstack.chaos_cash import check_cash

    run = _collected([("BANK-1", "119.00")])
    run.state = RunState.OVERDUE
    found = check_cash(runs={KEY: run}, intents=[], postings=[])
    assert [(kind, key) for kind, key, _ in found] == [("not_paid", KEY), ("cash_mismatch", KEY)]
