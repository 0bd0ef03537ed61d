"""A known audit trail, with the figures worked out by hand in test_figures.py."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.audit import Handoff, Outcome, Step

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Run:
    """Handoffs of one run, written the way the interceptor and record_handoff write them."""

    workflow_id: str
    product_line: str
    received: datetime
    handoffs: list[Handoff] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.add(Step.RECEIVED, "q2c", Outcome.RECEIVED, self.received, key=Step.RECEIVED)
        self.activity("validate_customer", "crm", self.received + timedelta(seconds=1))

    def add(
        self, step: str, system: str, outcome: Outcome, moment: datetime, *, key: str, **extra: str
    ) -> "Run":
        attempt = int(extra.pop("attempt", "1"))
        self.handoffs.append(
            Handoff(
                key=f"{self.workflow_id}/run-1/{key}",
                workflow_id=self.workflow_id,
                run_id="run-1",
                step=step,
                system=system,
                outcome=outcome,
                attempt=attempt,
                started_at=moment,
                finished_at=moment,
                product_line=self.product_line if step == "validate_customer" else "",
                customer_id="CUST-" + self.workflow_id if step == "validate_customer" else "",
                **extra,
            )
        )
        return self

    def activity(self, step: str, system: str, moment: datetime, **extra: str) -> "Run":
        return self.add(step, system, Outcome.SUCCESS, moment, key=f"{step}/done", **extra)

    def retry(self, step: str, system: str, moment: datetime, attempt: int) -> "Run":
        return self.add(
            step, system, Outcome.RETRY, moment, key=f"{step}/attempt-{attempt}",
            reason_code="transient", attempt=str(attempt),
        )  # fmt: skip

    def taxed(self, moment: datetime, amount: str = "100.00") -> "Run":
        return self.activity("compute_tax", "tax", moment, amount=amount, currency="EUR")

    def approval(self, moment: datetime, *codes: str) -> "Run":
        return self.add(
            Step.APPROVAL, "billing", Outcome.APPROVAL_REQUESTED, moment,
            key="approval/requested", reason_code=codes[0], detail=",".join(codes),
        )  # fmt: skip

    def decided(self, moment: datetime, verdict: Outcome) -> "Run":
        return self.add(
            Step.APPROVAL, "approver", verdict, moment, key=f"approval/{verdict}",
            decided_by="cfo@q2c.example",
        )  # fmt: skip

    def post(self, moment: datetime, amount: str = "100.00") -> "Run":
        return self.activity("post_invoice", "erp", moment, amount=amount, currency="EUR")

    def outcome(
        self, moment: datetime, outcome: Outcome, code: str = "", system: str = "erp"
    ) -> "Run":
        return self.add(Step.OUTCOME, system, outcome, moment, key="outcome", reason_code=code)


def known_trail() -> list[Handoff]:
    runs = [
        # R1: straight through in one hour, after one usage-platform retry.
        Run("R1", "platform", at(1))
        .retry("fetch_usage", "usage", at(1, 0, 5), 1)
        .taxed(at(1, 0, 10)).post(at(1, 0, 50))
        .outcome(at(1, 1), Outcome.POSTED),
        # R2: approved after two hours, then posted with a changed total.
        Run("R2", "platform", at(2))
        .taxed(at(2, 0, 5)).approval(at(2, 0, 10), "non_standard_clause", "amount_threshold")
        .decided(at(2, 2, 10), Outcome.APPROVED)
        .post(at(2, 2, 30), amount="120.00").outcome(at(2, 3), Outcome.POSTED),
        # R3: straight through in 30 minutes, after two ERP retries.
        Run("R3", "analytics", at(3))
        .taxed(at(3, 0, 5))
        .retry("post_invoice", "erp", at(3, 0, 10), 1).retry("post_invoice", "erp", at(3, 0, 15), 2)
        .post(at(3, 0, 20)).outcome(at(3, 0, 30), Outcome.POSTED),
        # R4: waiting for approval since Nov 4, 00:05.
        Run("R4", "analytics", at(4)).taxed(at(4, 0, 4)).approval(at(4, 0, 5), "price_override"),
        # R5: in progress, 18 hours old.
        Run("R5", "platform", at(19, 18)).activity("fetch_usage", "usage", at(19, 18, 1)),
        # R6: broken master data.
        Run("R6", "platform", at(5)).outcome(at(5, 0, 1), Outcome.NEEDS_ATTENTION,
                                             "customer_invalid", "crm"),
        # R7: the ERP refused the posting.
        Run("R7", "platform", at(6))
        .taxed(at(6, 0, 5))
        .add("post_invoice", "erp", Outcome.FAILURE, at(6, 0, 6), key="post_invoice/done",
             reason_code="posting_conflict")
        .outcome(at(6, 0, 6), Outcome.NEEDS_ATTENTION, "posting_conflict", "erp"),
        # R8: waiting for approval, exactly three days old.
        Run("R8", "analytics", at(17, 12)).approval(at(17, 12, 1), "tax_uncertain"),
        # R9: in progress, two days old.
        Run("R9", "platform", at(18, 12)),
        # R10: before the window.
        Run("R10", "platform", at(15, month=10)).taxed(at(15, 0, 5, month=10))
        .post(at(15, 0, 10, month=10)).outcome(at(15, 0, 20, month=10), Outcome.POSTED),
        # R11: rejected after an hour.
        Run("R11", "platform", at(7)).taxed(at(7, 0, 1)).approval(at(7, 0, 1), "amount_threshold")
        .decided(at(7, 1, 1), Outcome.REJECTED)
        .outcome(at(7, 1, 1), Outcome.REJECTED, "rejected", "approver"),
    ]  # fmt: skip
    return [handoff for run in runs for handoff in run.handoffs]
