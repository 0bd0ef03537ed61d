"""The report's receivables, from audit rows written the way the interceptor and the workflow
write them, against figures worked out by hand.

Window Nov 1 – Nov 20, 2026 (20 days), as of the end of Nov 20. EUR invoices:
  C1 posted 10-01, 1000.00, due 10-31; paid 400.00 (value 10-20), 600.00 (value 11-10)
        open at the end of Oct 31: 600.00 → in B; ending 0
  C2 posted 11-02,  500.00, due 12-02; open             → S; ending 500.00, current
  C3 posted 11-03,  300.00, due 11-05; disputed 11-06, credited 100.00 on 11-08
                                                        → S; ending 200.00, 15 days past due
  C4 posted 07-01,  250.00, due 07-31; written off 250.00 (value 11-15) → B 250; ending 0
  C6 posted 08-15,  120.00, due 09-14; open             → B 120; ending 120.00, 67 days late
  B = 600 + 250 + 120 = 970.00; S = 500 + 300 = 800.00; E = 500 + 200 + 120 = 820.00;
  E_current = 500.00 (C2 only)
  DSO = E / S × n = 820 / 800 × 20 = 20.5 days
  CEI = (B + S − E) / (B + S − E_current) × 100 = 950 / 1270 × 100 = 74.80… → 74.8 %
  aging: current 500.00, 1–30 200.00, 31–60 0, 61–90 120.00, 90+ 0; write-offs 250.00 (1)
USD: U1 posted 11-10, 99.99, due 12-10; paid 99.99 (value 11-12), refunded 99.99 (value 11-14)
  → S = E = E_current = 99.99: DSO = 99.99 / 99.99 × 20 = 20.0; CEI none (0 / 0)
Dispute rate: invoices posted in the window C2, C3, U1 = 3; disputes opened C3 = 1 → 33.3 %.
A run recorded before the cash rows (its plan names no due date) is left out.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from rich.console import Console

from ops.report.figures import compute
from ops.report.render import html, table
from schemas.audit import Handoff, Outcome, Step
from tests.ops.report.trail import NOW, SINCE, Run, at


class CashRun(Run):
    def invoice(self, moment: datetime, amount: str, due: str, currency: str = "EUR") -> "CashRun":
        self.activity(
            "post_invoice", "erp", moment, amount=amount, currency=currency,
            detail=f"invoice {self.workflow_id}",
        )  # fmt: skip
        self.activity("plan_collection", "q2c", moment, currency=currency, detail=f"due {due}")
        return self

    def cash(
        self, step: str, moment: datetime, amount: str, value: str, currency: str = "EUR"
    ) -> "CashRun":
        self.add(
            step, "erp", Outcome.SUCCESS, moment, key=f"{step}/{value}/done", amount=amount,
            currency=currency, detail=f"value {value} ref-{value}",
        )  # fmt: skip
        return self

    def disputed(self, moment: datetime) -> "CashRun":
        self.add(
            Step.DISPUTE, "customer", Outcome.DISPUTED, moment, key="dispute/disputed/x/1",
            decided_by="ap@customer.example", detail="wrong seats",
        )  # fmt: skip
        return self

    def credited(self, moment: datetime, amount: str) -> "CashRun":
        self.add(
            "post_invoice", "erp", Outcome.SUCCESS, moment, key="post_invoice/credit/done",
            amount=amount, currency="EUR",
            detail=f"credit_note {self.workflow_id}:dispute-credit:1",
        )  # fmt: skip
        return self


def cash_trail() -> list[Handoff]:
    hour = timedelta(hours=1)
    runs = [
        CashRun("C1", "platform", at(1, month=10))
        .invoice(at(1, 1, month=10), "1000.00", "2026-10-31")
        .cash("post_payment", at(20, month=10), "400.00", "2026-10-20")
        .cash("post_payment", at(10), "600.00", "2026-11-10"),
        CashRun("C2", "platform", at(2)).invoice(at(2) + hour, "500.00", "2026-12-02"),
        CashRun("C3", "platform", at(3)).invoice(at(3) + hour, "300.00", "2026-11-05")
        .disputed(at(6, 9)).credited(at(8, 9), "100.00"),
        CashRun("C4", "platform", at(1, month=7)).invoice(at(1, 1, month=7), "250.00", "2026-07-31")
        .cash("post_write_off", at(15), "250.00", "2026-11-15"),
        CashRun("C6", "platform", at(15, month=8))
        .invoice(at(15, 1, month=8), "120.00", "2026-09-14"),
        CashRun("U1", "platform", at(10)).invoice(at(10) + hour, "99.99", "2026-12-10", "USD")
        .cash("post_payment", at(12), "99.99", "2026-11-12", "USD")
        .cash("post_refund", at(14), "99.99", "2026-11-14", "USD"),
        # Before the cash rows: its plan names no due date, so it is not counted.
        Run("OLD", "platform", at(4)).post(at(4) + hour, "700.00")
        .activity("plan_collection", "q2c", at(4) + hour),
    ]  # fmt: skip
    return [handoff for run in runs for handoff in run.handoffs]


def test_receivables_per_currency_as_worked_out_by_hand() -> None:
    figures = compute(cash_trail(), now=NOW, since=SINCE).receivables
    assert figures is not None
    assert (figures.start.isoformat(), figures.end.isoformat()) == ("2026-11-01", "2026-11-20")
    eur = figures.by_currency["EUR"]
    assert (eur.beginning, eur.sales, eur.ending, eur.ending_current) == (
        Decimal("970.00"), Decimal("800.00"), Decimal("820.00"), Decimal("500.00"),
    )  # fmt: skip
    assert (eur.dso_days, eur.cei_percent) == (Decimal("20.5"), Decimal("74.8"))
    assert eur.aging == {
        "current": Decimal("500.00"), "1-30": Decimal("200.00"), "31-60": Decimal("0.00"),
        "61-90": Decimal("120.00"), "90+": Decimal("0.00"),
    }  # fmt: skip
    assert (eur.write_offs, eur.write_off_count) == (Decimal("250.00"), 1)
    usd = figures.by_currency["USD"]
    assert (usd.ending, usd.dso_days, usd.cei_percent) == (Decimal("99.99"), Decimal("20.0"), None)
    assert (figures.invoices_issued, figures.disputes_opened) == (3, 1)
    assert figures.dispute_rate_percent == Decimal("33.3")


def test_no_run_in_collection_shows_no_receivables() -> None:
    report = compute([h for h in cash_trail() if h.workflow_id == "OLD"], now=NOW, since=SINCE)
    assert report.receivables is None
    assert "no invoice in collection" in html(report)


def test_the_terminal_and_the_page_name_the_figures() -> None:
    report = compute(cash_trail(), now=NOW, since=SINCE)
    page = html(report)
    assert 'data-chart="receivables-aging-EUR"' in page
    assert 'data-chart="receivables-aging-USD"' in page
    assert "20.5 d" in page and "74.8 %" in page and "33.3 %" in page
    console = Console(width=160, record=True)
    console.print(table(report))
    text = console.export_text()
    assert "dispute rate 33.3 % (1 of 3 invoices)" in text
    assert "250.00 (1)" in text
