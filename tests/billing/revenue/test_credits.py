"""Credit notes against the invoice line they credit: the remainder from the credit's start
is reversed, a termination stops the schedule; Stripe's credit-note example reproduced."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import quantum
from billing.rating import rate_amendment, rate_contract
from billing.revenue import line_schedule, revenue_schedule, split_deferred
from billing.revenue.credits import CreditedLine, PostedSchedule, credit_schedule, credited_lines
from billing.revenue.methods import METHODS, first_of_next_month, month_of
from schemas.contract import Charge
from schemas.invoice import Invoice
from schemas.revenue import ScheduleEntry, terms_of
from schemas.usage import UsageSummary
from tests.billing.builders import contract

ANNUAL = (date(2026, 1, 1), date(2027, 1, 1))


def _annual(recognition: str = "ratable_daily") -> tuple[Invoice, list[ScheduleEntry]]:
    charge = Charge(
        id="platform",
        description="Platform, annual",
        kind="recurring",
        properties={"amount": "12000.00"},
        pay_in_advance=True,
        recognition=recognition,
    )
    terms_contract = contract(charge, start_date=ANNUAL[0], billing_interval="annual")
    invoice = rate_contract(
        contract=terms_contract,
        usage=UsageSummary(contract_id="c-1", period_start=ANNUAL[0], period_end=ANNUAL[1]),
        period_start=ANNUAL[0],
        period_end=ANNUAL[1],
        invoice_id="INV-annual",
    )
    # A close bills the period in advance too: keep 2026's line, as an activation bills it.
    invoice = invoice.model_copy(
        update={
            "lines": invoice.lines[:1],
            "subtotal": Decimal("12000.00"),
            "total": Decimal("12000.00"),
        }
    )
    return invoice, revenue_schedule(invoice, terms_of(terms_contract))


def _terminated(invoice: Invoice) -> Invoice:
    """The annual contract ended on 16 July 2026: the credit note for the unused fee."""
    before = contract(*[_charge(invoice)], start_date=ANNUAL[0], billing_interval="annual")
    after = before.model_copy(update={"charges": []})
    [note] = rate_amendment(
        previous_contract=before,
        contract=after,
        change_date=date(2026, 7, 16),
        invoice_id="INV-end",
        credit_note_id="CN-end",
        activation_billed=True,  # the annual fee was billed in advance on 1 January
    )
    return note


def _charge(invoice: Invoice) -> Charge:
    return Charge(
        id=invoice.lines[0].charge_id,
        description="Platform, annual",
        kind="recurring",
        properties={"amount": "12000.00"},
        pay_in_advance=True,
    )


def _posted(key: str, document: Invoice, entries: list[ScheduleEntry]) -> PostedSchedule:
    return PostedSchedule(
        posting_key=key,
        invoice=document,
        entries=[(e.line_id, e.month, e.amount) for e in entries],
    )


def _net(*schedules: list[ScheduleEntry]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = {}
    for schedule in schedules:
        for entry in schedule:
            net[entry.month] = net.get(entry.month, Decimal(0)) + entry.amount
    return net


def test_stripe_credit_note_before_payment() -> None:
    # Stripe, Revenue Recognition > Examples > Credit notes, "Credit note before a payment"
    # (https://docs.stripe.com/revenue-recognition/examples/credit-notes): 120 USD for three
    # months from 1 January, a 30 USD credit note for the whole period; revenue is 31.00,
    # 28.00, 31.00 (per day). By hand: the invoice is 41.33, 37.33, 41.34 (90 days); the
    # credit covers every month whole but is a quarter of the fee, so each month gives back
    # a quarter: 10.3325 → 10.33, 9.3325 → 9.33, and 30 − 19.66 = 10.34 for March.
    invoice_months = line_schedule(
        Decimal("120.00"), "USD", "ratable_daily", date(2026, 1, 1), date(2026, 4, 1)
    )
    assert invoice_months == [
        ("2026-01", Decimal("41.33")),
        ("2026-02", Decimal("37.33")),
        ("2026-03", Decimal("41.34")),
    ]
    credited = CreditedLine(start=date(2026, 1, 1), end=date(2026, 4, 1), entries=invoice_months)
    given_back = credit_schedule(
        Decimal("30.00"), "USD", credited, date(2026, 1, 1), date(2026, 4, 1)
    )
    assert given_back == [
        ("2026-01", Decimal("10.33")),
        ("2026-02", Decimal("9.33")),
        ("2026-03", Decimal("10.34")),
    ]
    net = [(m, a - dict(given_back)[m]) for m, a in invoice_months]
    assert net == [
        ("2026-01", Decimal("31.00")),
        ("2026-02", Decimal("28.00")),
        ("2026-03", Decimal("31.00")),
    ]


def test_termination_stops_the_schedule_at_the_end() -> None:
    # 12,000.00 for 2026 by day, terminated on 16 July. Rating credits the 169 unused days:
    # 12,000 × 169 / 365 = 5,556.164… → 5,556.16. The invoice schedules August..December as
    # 1,019.18 + 986.30 + 1,019.18 + 986.30 + 1,019.17 (December takes the remainder of
    # 12,000 − 10,980.83) = 5,030.13, all reversed whole; July gives back the rest,
    # 5,556.16 − 5,030.13 = 526.03, leaving 1,019.18 − 526.03 = 493.15: the 15 days of July
    # used, 12,000 × 15 / 365 = 493.150… Nothing is recognised after July (ASC 606-10-25-13:
    # a termination is accounted for prospectively; what was earned stays earned).
    invoice, schedule = _annual()
    note = _terminated(invoice)
    assert note.lines[0].amount == Decimal("5556.16")
    credited = credited_lines(note, [_posted("k-inv", invoice, schedule)])
    reversal = revenue_schedule(note, terms_of(contract()), credited=credited)
    assert [(e.month, e.amount) for e in reversal] == [
        ("2026-07", Decimal("-526.03")),
        ("2026-08", Decimal("-1019.18")),
        ("2026-09", Decimal("-986.30")),
        ("2026-10", Decimal("-1019.18")),
        ("2026-11", Decimal("-986.30")),
        ("2026-12", Decimal("-1019.17")),
    ]
    net = _net(schedule, reversal)
    assert net["2026-07"] == Decimal("493.15")
    assert all(net[f"2026-{m:02d}"] == 0 for m in range(8, 13))
    assert sum(net.values()) == Decimal("12000.00") - Decimal("5556.16")


def test_whole_month_method_catches_up_in_the_credit_month() -> None:
    # 1,000.00 a month (ratable_monthly), the same termination: 5,556.16 credited by day.
    # August..December, 5,000.00, reversed whole; July gives back 556.16 and keeps 443.84.
    invoice, schedule = _annual("ratable_monthly")
    note = _terminated(invoice)
    credited = credited_lines(note, [_posted("k-inv", invoice, schedule)])
    net = _net(schedule, revenue_schedule(note, terms_of(contract()), credited=credited))
    assert net["2026-07"] == Decimal("443.84")
    assert all(net[f"2026-{m:02d}"] == 0 for m in range(8, 13))


def test_a_second_credit_takes_what_the_first_left() -> None:
    # The Stripe invoice above credited 30.00 (10.33 / 9.33 / 10.34), then terminated from
    # 1 March for 31.00: March had 41.34 − 10.34 = 31.00 left, all of it given back.
    invoice_months = line_schedule(
        Decimal("120.00"), "USD", "ratable_daily", date(2026, 1, 1), date(2026, 4, 1)
    )
    invoice = _document("invoice", "INV-q", "120.00", date(2026, 1, 1))
    first = _document("credit_note", "CN-1", "30.00", date(2026, 1, 1))
    second = _document("credit_note", "CN-2", "31.00", date(2026, 3, 1))
    posted = [
        PostedSchedule("k-inv", invoice, [("L1", m, a) for m, a in invoice_months]),
        PostedSchedule(
            "k-cn1",
            first,
            [
                ("C1", "2026-01", Decimal("-10.33")),
                ("C1", "2026-02", Decimal("-9.33")),
                ("C1", "2026-03", Decimal("-10.34")),
            ],
        ),
    ]
    credited = credited_lines(second, posted)
    reversal = revenue_schedule(second, terms_of(contract()), credited=credited)
    assert [(e.month, e.amount) for e in reversal] == [("2026-03", Decimal("-31.00"))]


def test_a_full_credit_gives_back_the_negative_remainder_of_a_rounded_schedule() -> None:
    # 0.03 USD by day over 2024-01-01..2024-05-02 (122 days): January 31/122 × 0.03 =
    # 0.0076 → 0.01, February 29/122 → 0.01, March 31/122 → 0.01, April 30/122 → 0.01;
    # May, the remainder, 0.03 − 0.04 = −0.01. A credit of all of it from the first day
    # gives back each month's entry, May's −0.01 too, so every month nets to 0.
    start, end = date(2024, 1, 1), date(2024, 5, 2)
    months = line_schedule(Decimal("0.03"), "USD", "ratable_daily", start, end)
    hand = [("2024-01", "0.01"), ("2024-02", "0.01"), ("2024-03", "0.01"), ("2024-04", "0.01")]
    assert months == [(m, Decimal(a)) for m, a in hand + [("2024-05", "-0.01")]]
    credited = CreditedLine(start=start, end=end, entries=months)
    assert credit_schedule(Decimal("0.03"), "USD", credited, start, end) == months
    # From 15 January: February to May are reversed whole (0.02 with May's −0.01), and
    # January, the part month, takes the rest, 0.01.
    from_15th = credit_schedule(Decimal("0.03"), "USD", credited, date(2024, 1, 15), end)
    assert from_15th == [(m, Decimal(a)) for m, a in hand + [("2024-05", "-0.01")]]


def test_a_credit_with_no_posted_invoice_is_scheduled_on_its_own() -> None:
    note = _document("credit_note", "CN-x", "31.00", date(2026, 3, 1))
    assert credited_lines(note, []) == {}
    reversal = revenue_schedule(note, terms_of(contract()), credited={})
    assert [(e.month, e.amount) for e in reversal] == [("2026-03", Decimal("-31.00"))]


def _document(kind: str, invoice_id: str, amount: str, start: date) -> Invoice:
    prefix = "L" if kind == "invoice" else "C"
    return Invoice.model_validate(
        {
            "invoice_id": invoice_id,
            "document_type": kind,
            "contract_id": "c-1",
            "customer_id": "cust-1",
            "currency": "USD",
            "period_start": start.isoformat(),
            "period_end": "2026-04-01",
            "lines": [
                {
                    "line_id": f"{prefix}1",
                    "charge_id": "platform",
                    "charge_model": "standard",
                    "unrounded_amount": amount,
                    "rule": "flat fee",
                    "description": "Platform",
                    "quantity": "1",
                    "unit_price": amount,
                    "amount": amount,
                    "period_start": start.isoformat(),
                    "period_end": "2026-04-01",
                }
            ],
            "subtotal": amount,
            "tax_total": "0",
            "total": amount,
        }
    )


CURRENCIES = ["USD", "JPY", "EUR"]


@st.composite
def credited_invoices(draw: st.DrawFn) -> tuple[str, str, Decimal, Decimal, date, date, date]:
    """An invoice line (amount, method, service period) and a credit from a day inside it
    to its end, for an amount up to the line's."""
    currency = draw(st.sampled_from(CURRENCIES))
    units = draw(st.integers(min_value=1, max_value=10**8))
    amount = Decimal(units) * quantum(currency)
    credit = Decimal(draw(st.integers(min_value=1, max_value=units))) * quantum(currency)
    start = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
    days = draw(st.integers(min_value=1, max_value=800))
    cut = start + timedelta(days=draw(st.integers(min_value=0, max_value=days - 1)))
    method = draw(st.sampled_from(sorted(METHODS)))
    return currency, method, amount, credit, start, start + timedelta(days=days), cut


@settings(max_examples=300, deadline=None, derandomize=True)
@given(credited_invoices(), st.integers(min_value=0, max_value=14))
def test_recognised_plus_deferred_is_billed_less_credited_at_every_month_end(
    drawn: tuple[str, str, Decimal, Decimal, date, date, date], lag: int
) -> None:
    currency, method, amount, credit, start, end, cut = drawn
    months = line_schedule(amount, currency, method, start, end)  # type: ignore[arg-type]
    credited = CreditedLine(start=start, end=end, entries=months)
    given_back = credit_schedule(credit, currency, credited, cut, end)
    assert sum((a for _, a in given_back), Decimal(0)) == credit
    assert all(a == a.quantize(quantum(currency)) for _, a in given_back)
    assert all(m >= month_of(cut) for m, _ in given_back), "nothing before the credit's start"
    if method == "ratable_daily" and credit == amount:
        net = dict(months)
        for m, a in given_back:
            net[m] = net.get(m, Decimal(0)) - a
        assert all(v == 0 for m, v in net.items() if m > month_of(cut)), "the schedule stops"

    # The invoice is billed in its first month, the credit note `lag` months after the cut.
    billed_month = month_of(start)
    credit_on = cut.replace(day=1)
    for _ in range(lag):
        credit_on = first_of_next_month(credit_on)
    credit_month = month_of(credit_on)
    posted = [
        (billed_month, e)
        for e in split_deferred(
            [ScheduleEntry(line_id="L1", month=m, amount=a) for m, a in months],
            billed_month=billed_month,
            product_line="p",
        )
    ] + [
        (credit_month, e)
        for e in split_deferred(
            [ScheduleEntry(line_id="C1", month=m, amount=-a) for m, a in given_back],
            billed_month=credit_month,
            product_line="p",
        )
    ]
    last = max([credit_month] + [e.month for _, e in posted])
    month = billed_month
    while month <= last:
        billed = sum((e.amount for b, e in posted if b <= month), Decimal(0))
        recognised = sum(
            (e.amount for b, e in posted if b <= month and (not e.deferred or e.month <= month)),
            Decimal(0),
        )
        deferred = sum(
            (e.amount for b, e in posted if b <= month and e.deferred and e.month > month),
            Decimal(0),
        )
        expected = amount - (credit if credit_month <= month else Decimal(0))
        assert billed == expected
        assert recognised + deferred == expected
        month = month_of(first_of_next_month(date(int(month[:4]), int(month[5:]), 1)))
