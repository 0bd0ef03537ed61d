"""The run's current details as a person reads them: the first line says what the run waits
for and from whom, the second how to answer; then the invoice, the reasons, who may decide
and the refused attempts. Each phase that needs a person has its own first line."""

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas.approvals import RecordedDecision, RefusedAttempt
from schemas.collection import CollectionProgress, OpenDispute
from schemas.invoice import Invoice, InvoiceLine
from schemas.runs import ApprovalProgress, RouteReason, RunDocument, RunState, RunStatus
from workflows.details import current_details, headline, money

DUE = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
SINCE = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def _invoice(total: str, currency: str = "USD") -> Invoice:
    amount = Decimal(total)
    line = InvoiceLine(
        line_id="l1",
        charge_id="platform",
        description="Platform fee",
        charge_model="flat",
        quantity=Decimal(1),
        amount=amount,
        unrounded_amount=amount,
        rule="flat fee",
    )
    return Invoice(
        invoice_id="C-9:cycle:2026-10-01:2026-11-01",
        contract_id="C-9",
        customer_id="CU-9",
        currency=currency,
        period_start=date(2026, 10, 1),
        period_end=date(2026, 11, 1),
        lines=[line],
        subtotal=amount,
        tax_total=Decimal(0),
        total=amount,
    )


def _waiting(**approval: object) -> RunStatus:
    invoice = _invoice("18000.00")
    return RunStatus(
        state=RunState.AWAITING_APPROVAL,
        contract_id="C-9",
        customer_id="CU-9",
        risk_level="high",
        documents=[RunDocument.of(invoice, posting_key="q2c:C-9")],
        total=invoice.total,
        currency="USD",
        route_reasons=[
            RouteReason(code="non_standard_clause", message="Non-standard clause: Net 90"),
            RouteReason(
                code="amount_threshold",
                message="Total 18000.00 USD is at or above the 10000 USD approval threshold",
            ),
        ],
        approval=ApprovalProgress(
            approvers=["ar.lead@q2c.example", "billing.ops@q2c.example"],
            waiting_since=SINCE,
            due_at=DUE,
            **approval,
        ),
    )


def test_an_invoice_awaiting_approval_says_who_how_much_why_and_until_when() -> None:
    first, how = headline(_waiting())
    assert first == (
        "**Awaiting approval** by ar.lead@q2c.example or billing.ops@q2c.example · "
        "18,000.00 USD · non-standard clause, amount at or over the approval threshold · "
        "due 7 Dec 2026 09:30 UTC"
    )
    assert '`{"approver": "you@company.com", "comment": "why"}`' in how
    assert "`approve` or `reject`" in how


def test_the_details_under_it_keep_the_lines_reasons_approvers_and_refusals() -> None:
    status = _waiting(approvals_needed=2, approved_by=["ar.lead@q2c.example"])
    status.decisions.append(
        RecordedDecision(verdict="approve", approver="ar.lead@q2c.example", comment="ok", at=SINCE)
    )
    status.refused.append(
        RefusedAttempt(received="{}", cause="approve: approver: Field required", at=SINCE)
    )
    text = current_details(status)
    assert text.startswith("**Awaiting approval** by ")  # one more approval, said as such
    assert "| Platform fee | 1 | 18,000.00 USD |" in text
    assert "- `non_standard_clause` Non-standard clause: Net 90" in text
    assert "Needs 1 more approval(s) (given by ar.lead@q2c.example)" in text
    refused = "Refused attempts: 1\n\n- 30 Nov 2026 09:30 UTC: approve: approver: Field required"
    assert refused in text
    assert "Contract `C-9` · customer `CU-9` · risk high" in text


def test_two_approvals_still_needed_are_counted_in_the_first_line() -> None:
    first, _ = headline(_waiting(approvals_needed=2))
    assert first.startswith("**Awaiting 2 more approvals** by ar.lead@q2c.example or ")


def test_a_write_off_proposal_names_the_amount_and_since_when_it_is_unpaid() -> None:
    status = _waiting()
    status.documents[0].erp_document_id = "INV-000007"
    status.collection = CollectionProgress(
        payment_method="bank_transfer",
        posted_on=date(2026, 11, 1),
        due_at=datetime(2026, 12, 1, tzinfo=UTC),
        currency="USD",
        total=Decimal("18000.00"),
        amount_due=Decimal("1234.5"),
    )
    first, _ = headline(status)
    assert first == (
        "**Awaiting write-off approval** by ar.lead@q2c.example or billing.ops@q2c.example · "
        "write off 1,234.50 USD of INV-000007 · unpaid since 1 Dec 2026 00:00 UTC · "
        "due 7 Dec 2026 09:30 UTC"
    )
    assert status.approval is not None
    status.approval.approvals_needed = 2  # four eyes above the policy's amount
    assert headline(status)[0].startswith("**Awaiting 2 more write-off approvals** by ")


def test_a_disputed_invoice_says_why_and_gives_both_resolutions() -> None:
    posted = RunDocument.of(_invoice("1190.00", "EUR"), posting_key="q2c:C-9")
    posted.erp_document_id = "INV-000001"
    status = RunStatus(
        state=RunState.DISPUTED,
        contract_id="C-9",
        documents=[posted],
        collection=CollectionProgress(
            payment_method="bank_transfer",
            posted_on=date(2026, 11, 1),
            due_at=datetime(2026, 12, 1, tzinfo=UTC),
            currency="EUR",
            total=Decimal("1190.00"),
            amount_due=Decimal("1190.00"),
            dispute=OpenDispute(reason="seats were not used", opened_at=SINCE),
        ),
    )
    first, how = headline(status)
    assert first == (
        "**Disputed** since 30 Nov 2026 09:30 UTC: seats were not used · 1,190.00 EUR due of "
        "INV-000001 · dunning paused"
    )
    assert "`resolve_dispute`" in how
    assert '{"outcome": "upheld"' in how and '"credit_amount": "40.00"' in how


def test_a_failed_delivery_names_its_code_and_reason() -> None:
    status = RunStatus(
        state=RunState.NEEDS_ATTENTION,
        contract_id="C-9",
        reason_code="delivery_failed",
        reason="550 mailbox unavailable",
    )
    first, what = headline(status)
    assert first == "**Needs attention** · `delivery_failed` · 550 mailbox unavailable"
    assert "nothing after it was done" in what


def test_money_is_grouped_to_the_currencys_minor_unit() -> None:
    # ISO 4217: JPY has no minor unit, BHD three.
    assert money(Decimal("1234567"), "JPY") == "1,234,567 JPY"
    assert money(Decimal("1234.5"), "BHD") == "1,234.500 BHD"
    assert money(Decimal("0.5"), "USD") == "0.50 USD"


@given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False))
def test_money_shows_the_same_amount_it_was_given(amount: Decimal) -> None:
    shown = money(amount, "USD")
    assert Decimal(shown.removesuffix(" USD").replace(",", "")) == amount
