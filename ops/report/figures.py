"""The figures finance and RevOps measure invoice automation by, from the audit trail alone.

Definitions (also in docs/observability.md):
- cycle time: event received → posted (the outcome row), per posted run;
- median is the middle value (mean of the two middle ones); p90 is the nearest rank;
- straight-through: posted with no approval requested, over every run in the window;
- first-pass accuracy: of the runs that got as far as posting, those posted with the total
  computed before approval and reconciled on the first comparison;
- exceptions: each approval reason and each needs-attention or rejection, by reason code and
  by the system the problem came from;
- integration incidents: failed activity attempts per system (retries and final failures);
- delivery failures: runs that stopped delivering a document, by reason code;
- open items: runs with no outcome yet, aged from the event;
- skipped contracts: contracts a calendar fire passed over because their calendar cannot be
  computed (bill-cycle day 0, unknown time zone, end before start), each once with the
  field and reason of its latest fire in the window; they are no runs;
- receivables (DSO, CEI, aging per currency, write-offs, dispute rate): see
  ops/report/cash.py and docs/collections.md.

A run is its workflow id (the business key): a run reset with `temporal workflow reset`
gets a new run id but stays one run, counted once, in the outcome it reached last; its
cycle time ends where it first posted.

A delivered run was posted first: it counts as posted, its cycle time ends at delivery.
A run that went on into collection (paid, written off, refunded, or still waiting for its
money) was posted and delivered first: it counts as posted, its cycle time ends where its
collection began, and waiting for payment does not make it an open item or an exception.
"""

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, Field

from billing.receivables import ReceivablesFigures
from ops.report.cash import receivables
from schemas.audit import SKIPPED_PREFIX, Handoff, Outcome, Step

COLLECTED_OUTCOMES = frozenset({Outcome.PAID, Outcome.WRITTEN_OFF, Outcome.REFUNDED})
"""How a run that collected ends: its invoice paid or written off, its credit note refunded."""
POSTED_OUTCOMES = frozenset({Outcome.POSTED, Outcome.DELIVERED}) | COLLECTED_OUTCOMES
"""A run posted before the delivery phase ends `posted`; one since, `delivered`; one that
collected, in a collected outcome."""
COLLECTION_STARTED = "plan_collection"
"""The step a run's collection begins with: the end of its cycle time."""
CLEAN_OUTCOMES = POSTED_OUTCOMES | {Outcome.NOTHING_TO_BILL}
"""Final outcomes that are not exceptions: a person had nothing to fix."""
AGING_BUCKETS = ("under 1 day", "1–3 days", "3–7 days", "over 7 days")

SOURCE_OF_REASON = {
    "non_standard_clause": "crm",
    "price_override": "crm",
    "validation_warning": "crm",
    "customer_invalid": "crm",
    "customer_not_found": "crm",
    "contract_not_found": "crm",
    "contract_invalid": "crm",
    "tax_uncertain": "tax",
    "tax_unsupported": "tax",
    "posting_conflict": "erp",
    "reconcile_mismatch": "erp",
    "einvoice_invalid": "billing",
    "delivery_failed": "delivery",
    "approval_expired": "approver",
    "rejected": "approver",
}
"""Where a reason's problem comes from; other reasons are charged to the step's system."""


class Rate(BaseModel):
    count: int
    total: int
    rate: float | None = Field(description="count / total, or None when total is 0")


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class ProductLineCycle(Durations):
    product_line: str


class Exceptions(BaseModel):
    reason_code: str
    source_system: str
    count: int


class DeliveryFailures(BaseModel):
    reason_code: str = Field(description="einvoice_invalid, delivery_failed, customer_invalid…")
    count: int


class Incidents(BaseModel):
    system: str
    retries: int
    failures: int


class SourceIncidents(BaseModel):
    """What one sender of events to the HTTP intake got: requests, accepted, refused by cause."""

    source: str
    requests: int
    accepted: int
    refused: dict[str, int] = Field(description="Refusals (4xx, 5xx) and dead letters, by outcome")


class OpenItem(BaseModel):
    workflow_id: str
    customer_id: str
    product_line: str
    waiting_on: str = Field(description="approval, or the step it is in")
    received_at: AwareDatetime
    age_seconds: float
    bucket: str
    approval_wait_seconds: float | None


class SkippedContract(BaseModel):
    contract_id: str
    field: str = Field(description="The contract field its calendar cannot be computed from")
    reason: str = Field(description="The calendar and fire day, and why")
    last_skipped_at: AwareDatetime
    fires: int = Field(description="Fire days it was skipped on, in the window")


class Report(BaseModel):
    generated_at: AwareDatetime
    since: AwareDatetime | None
    runs: int
    posted: int = Field(description="Runs that posted, delivered or not")
    delivered: int = Field(default=0, description="Of those, runs that delivered every document")
    collecting: int = Field(default=0, description="Of those, runs waiting for their money")
    paid: int = Field(default=0, description="Of those, runs whose invoice was paid")
    written_off: int = Field(default=0, description="Of those, runs that wrote their invoice off")
    refunded: int = Field(default=0, description="Of those, credit notes alone, refunded")
    needs_attention: int
    rejected: int
    open: int
    cycle_time: Durations
    cycle_time_by_product_line: list[ProductLineCycle]
    cycle_times_seconds: list[float] = Field(description="Every posted run's cycle time")
    straight_through: Rate
    first_pass_accuracy: Rate
    exceptions: list[Exceptions]
    delivery_failures: list[DeliveryFailures] = Field(
        default_factory=list, description="Runs that stopped in the delivery phase, by cause"
    )
    incidents: list[Incidents]
    intake_sources: list[SourceIncidents] = Field(
        default_factory=list, description="Integration incidents per intake source"
    )
    aging: dict[str, int]
    approval_wait: Durations = Field(description="Request to decision, for decided approvals")
    open_items: list[OpenItem]
    skipped_contracts: list[SkippedContract] = Field(
        default_factory=list, description="Contracts the calendar's fires skipped, and why"
    )
    receivables: ReceivablesFigures | None = Field(
        default=None,
        description="DSO, CEI, aging, write-offs and dispute rate of the invoices that went "
        "into collection (ops/report/cash.py); None when none did",
    )


@dataclass
class _Run:
    workflow_id: str
    handoffs: list[Handoff] = field(default_factory=list)

    def rows(self, *, step: str | None = None, outcome: Outcome | None = None) -> list[Handoff]:
        return [
            h
            for h in self.handoffs
            if (step is None or h.step == step) and (outcome is None or h.outcome is outcome)
        ]

    def first(self, *, step: str | None = None, outcome: Outcome | None = None) -> Handoff | None:
        found = self.rows(step=step, outcome=outcome)
        return found[0] if found else None

    def value(self, name: str) -> str:
        return next((getattr(h, name) for h in self.handoffs if getattr(h, name)), "")

    @property
    def received_at(self) -> datetime:
        received = self.first(step=Step.RECEIVED)
        if received is not None:
            return received.started_at
        return min(h.started_at for h in self.handoffs)

    @property
    def outcome(self) -> Handoff | None:
        """The latest: a reset run records an outcome per execution, and ends in its last."""
        outcomes = self.rows(step=Step.OUTCOME)
        return outcomes[-1] if outcomes else None

    @property
    def first_posted(self) -> Handoff | None:
        """When the run first reached a posted outcome: a reset run posts once, earlier."""
        return next((h for h in self.rows(step=Step.OUTCOME) if h.outcome in POSTED_OUTCOMES), None)

    @property
    def approval_requested(self) -> Handoff | None:
        return self.first(step=Step.APPROVAL, outcome=Outcome.APPROVAL_REQUESTED)

    @property
    def decided_at(self) -> datetime | None:
        rejected = self.first(step=Step.APPROVAL, outcome=Outcome.REJECTED)
        if rejected is not None:
            return rejected.finished_at
        approvals = self.rows(step=Step.APPROVAL, outcome=Outcome.APPROVED)
        if approvals:  # with several approvers, the last approval decides
            return approvals[-1].finished_at
        if self.approval_requested is None:
            return None
        # Without a recorded decision, posting after the request means it was approved then.
        posting = self.first(step="post_invoice")
        return posting.started_at if posting is not None else None

    def amount(self, step: str) -> Decimal | None:
        row = self.first(step=step, outcome=Outcome.SUCCESS)
        return Decimal(row.amount) if row is not None and row.amount else None


def _runs(handoffs: Iterable[Handoff]) -> list[_Run]:
    """One run per workflow id (the business key): a reset makes a new run id, not a new run."""
    runs: dict[str, _Run] = {}
    for handoff in sorted(handoffs, key=lambda h: (h.finished_at, h.started_at)):
        key = handoff.workflow_id
        runs.setdefault(key, _Run(workflow_id=key)).handoffs.append(handoff)
    return list(runs.values())


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value with at least 90% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)), 1) - 1]


def durations(values: Sequence[float]) -> Durations:
    return Durations(count=len(values), median_seconds=median(values), p90_seconds=p90(values))


def rate(count: int, total: int) -> Rate:
    return Rate(count=count, total=total, rate=count / total if total else None)


def bucket(age: timedelta) -> str:
    days = age / timedelta(days=1)
    if days < 1:
        return AGING_BUCKETS[0]
    if days < 3:
        return AGING_BUCKETS[1]
    if days < 7:
        return AGING_BUCKETS[2]
    return AGING_BUCKETS[3]


def skipped_contracts(
    handoffs: Iterable[Handoff], *, since: datetime | None = None
) -> list[SkippedContract]:
    """Each skipped contract once: its latest field and reason, and on how many fire days."""
    by_contract: dict[str, list[Handoff]] = defaultdict(list)
    for row in sorted(handoffs, key=lambda h: h.finished_at):
        if row.step == Step.CALENDAR_SKIPPED and (since is None or row.finished_at >= since):
            by_contract[row.workflow_id.removeprefix(SKIPPED_PREFIX)].append(row)
    return [
        SkippedContract(
            contract_id=contract_id,
            field=rows[-1].reason_code,
            reason=rows[-1].detail,
            last_skipped_at=rows[-1].finished_at,
            fires=len(rows),
        )
        for contract_id, rows in sorted(by_contract.items())
    ]


def compute(handoffs: Iterable[Handoff], *, now: datetime, since: datetime | None = None) -> Report:
    handoffs = list(handoffs)
    skipped = skipped_contracts(handoffs, since=since)
    handoffs = [h for h in handoffs if h.step != Step.CALENDAR_SKIPPED]
    runs = [r for r in _runs(handoffs) if since is None or r.received_at >= since]
    cycle: list[float] = []
    by_line: dict[str, list[float]] = defaultdict(list)
    straight = reached_posting = first_pass = 0
    exceptions: Counter[tuple[str, str]] = Counter()
    incidents: dict[str, Counter[str]] = defaultdict(Counter)
    waits: list[float] = []
    open_items: list[OpenItem] = []
    finals: Counter[Outcome] = Counter()
    collecting = 0
    undelivered: Counter[str] = Counter()

    for run in runs:
        outcome = run.outcome
        requested = run.approval_requested
        decided_at = run.decided_at
        for row in run.handoffs:
            if row.outcome in (Outcome.RETRY, Outcome.FAILURE):
                incidents[row.system][row.outcome] += 1
        if requested is not None:
            for code in (
                requested.detail.split(",") if requested.detail else [requested.reason_code]
            ):
                exceptions[(code, SOURCE_OF_REASON.get(code, requested.system))] += 1
            if decided_at is not None:
                waits.append((decided_at - requested.finished_at).total_seconds())
        if outcome is not None and outcome.outcome not in CLEAN_OUTCOMES:
            code = outcome.reason_code or str(outcome.outcome)
            exceptions[(code, SOURCE_OF_REASON.get(code, outcome.system))] += 1
            if outcome.system == "delivery" or code == "einvoice_invalid":
                undelivered[code] += 1
        if run.first(step="post_invoice") is not None:
            reached_posting += 1
        collection = run.first(step=COLLECTION_STARTED, outcome=Outcome.SUCCESS)
        if outcome is None and collection is not None:
            collecting += 1  # posted and waiting for its money: a receivable, not open work
        elif outcome is None:
            age = now - run.received_at
            wait = None
            if requested is not None and decided_at is None:
                wait = (now - requested.finished_at).total_seconds()
            open_items.append(
                OpenItem(
                    workflow_id=run.workflow_id,
                    customer_id=run.value("customer_id"),
                    product_line=run.value("product_line"),
                    waiting_on="approval" if wait is not None else run.handoffs[-1].step,
                    received_at=run.received_at,
                    age_seconds=age.total_seconds(),
                    bucket=bucket(age),
                    approval_wait_seconds=wait,
                )
            )
            continue
        if outcome is not None:
            finals[outcome.outcome] += 1
            if outcome.outcome not in POSTED_OUTCOMES:
                continue
        ended = collection or run.first_posted or outcome
        assert ended is not None
        seconds = (ended.finished_at - run.received_at).total_seconds()
        cycle.append(seconds)
        by_line[run.value("product_line") or "unknown"].append(seconds)
        if requested is None:
            straight += 1
        taxed, posted = run.amount("compute_tax"), run.amount("post_invoice")
        if taxed is None or posted is None or taxed == posted:
            first_pass += 1

    return Report(
        generated_at=now,
        since=since,
        runs=len(runs),
        posted=sum(finals[o] for o in POSTED_OUTCOMES) + collecting,
        delivered=finals[Outcome.DELIVERED],
        collecting=collecting,
        paid=finals[Outcome.PAID],
        written_off=finals[Outcome.WRITTEN_OFF],
        refunded=finals[Outcome.REFUNDED],
        needs_attention=finals[Outcome.NEEDS_ATTENTION],
        rejected=finals[Outcome.REJECTED],
        open=len(open_items),
        cycle_time=durations(cycle),
        cycle_time_by_product_line=[
            ProductLineCycle(product_line=line, **durations(values).model_dump())
            for line, values in sorted(by_line.items())
        ],
        cycle_times_seconds=sorted(cycle),
        straight_through=rate(straight, len(runs)),
        first_pass_accuracy=rate(first_pass, reached_posting),
        exceptions=[
            Exceptions(reason_code=code, source_system=system, count=count)
            for (code, system), count in sorted(exceptions.items(), key=lambda i: (-i[1], i[0]))
        ],
        delivery_failures=[
            DeliveryFailures(reason_code=code, count=count)
            for code, count in sorted(undelivered.items(), key=lambda i: (-i[1], i[0]))
        ],
        incidents=[
            Incidents(system=system, retries=c[Outcome.RETRY], failures=c[Outcome.FAILURE])
            for system, c in sorted(incidents.items())
        ],
        aging={name: sum(1 for i in open_items if i.bucket == name) for name in AGING_BUCKETS},
        approval_wait=durations(waits),
        open_items=sorted(open_items, key=lambda i: -i.age_seconds),
        skipped_contracts=skipped,
        # Every run's cash, not only the window's: what was owed when the window began counts.
        receivables=receivables(handoffs, now=now, since=since),
    )
