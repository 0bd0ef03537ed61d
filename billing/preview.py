"""Preview: the invoice a contract would produce, from one JSON document, with no server.

The same code path as the draft-invoice and compute-tax activities: `rate_contract` (or
`rate_amendment` for a mid-period change), then, when the file names a seller and a
customer, the tax engine and `apply_tax`. The file format is described in docs/preview.md.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.rating import billing_calendar, rate_amendment, rate_contract
from billing.rating_error import RatingError
from billing.revenue import RevenueError, revenue_schedule
from billing.tax.engine import Seller, apply_tax
from billing.tax.rule_engine import RuleTableEngine
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.invoice import Invoice
from schemas.money import Amount
from schemas.revenue import ScheduleEntry, terms_of
from schemas.usage import UsageSummary


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PreviewPeriod(_Strict):
    start: date
    end: date = Field(description="Exclusive: the first day of the next period")


class PreviewAmendment(_Strict):
    """A mid-period change: the contract as it was, and the day the new terms start."""

    previous_contract: Contract
    change_date: date


class PreviewRequest(_Strict):
    contract: Contract
    event: Literal["billing_cycle.closed", "contract.activated"] = Field(
        default="billing_cycle.closed",
        description="contract.activated: the activation invoice (first period, in advance)",
    )
    activation_billed: bool = Field(
        default=False,
        description="An activation invoice billed the first period (a close or a change in it)",
    )
    period: PreviewPeriod | None = None
    usage: dict[str, Amount] = Field(
        default_factory=dict, description="Aggregated quantity per metric code"
    )
    events: dict[str, list[Amount]] = Field(
        default_factory=dict, description="Per-event values (percentage charges)"
    )
    milestone_id: str | None = None
    amendment: PreviewAmendment | None = None
    seller: Seller | None = None
    customer: Customer | None = None
    invoice_id: str = "preview"


def needs_tax(request: PreviewRequest) -> bool:
    """Tax is computed when the file names both a seller and a customer, never half."""
    if (request.seller is None) != (request.customer is None):
        missing = "customer" if request.customer is None else "seller"
        raise RatingError(
            missing, "is required to compute tax (give seller and customer, or neither)"
        )
    return request.seller is not None


def preview(request: PreviewRequest, *, tax_engine: RuleTableEngine | None) -> list[Invoice]:
    """The documents the run would produce: one invoice, or for an amendment the invoice
    and/or the credit note. Raises `RatingError`, or `TaxError` from the engine."""
    taxed = needs_tax(request)
    if taxed and tax_engine is None:
        raise RatingError("seller", "no tax engine to compute tax with")
    try:
        documents = _rate(request)
    except RatingError as error:
        raise RatingError(file_path(error.field), error.message) from None
    if not taxed:
        return documents
    assert tax_engine is not None and request.seller is not None and request.customer is not None
    return [
        apply_tax(
            document,
            tax_engine.evaluate(document, seller=request.seller, customer=request.customer),
        )
        for document in documents
    ]


def revenue_schedules(
    request: PreviewRequest, documents: list[Invoice]
) -> list[list[ScheduleEntry]]:
    """The revenue schedule of each document, in order: an amendment's credit note follows
    the terms it credits (the previous contract's). Raises `RatingError` naming the field."""
    schedules = []
    amendment = request.amendment
    credited = amendment.previous_contract if amendment is not None else request.contract
    for document in documents:
        contract = credited if document.document_type == "credit_note" else request.contract
        try:
            schedules.append(revenue_schedule(document, terms_of(contract)))
        except RevenueError as error:
            raise RatingError(f"revenue.{error.field}", error.message) from None
    return schedules


_RENAMED = {
    "period_start": "period.start",
    "period_end": "period.end",
    "usage.period_start": "period.start",
    "usage.quantities": "usage",
    "usage.events": "events",
}
_OF_FILE = (
    "period",
    "usage",
    "events",
    "milestone_id",
    "amendment",
    "seller",
    "customer",
    "event",
    "activation_billed",
)


def file_path(field: str) -> str:
    """Where a rating error's field sits in the preview file."""
    for old, new in _RENAMED.items():
        if field == old or field.startswith(f"{old}."):
            return new + field[len(old) :]
    if field.split(".", 1)[0] in _OF_FILE:
        return field
    return f"contract.{field}"


def _rate(request: PreviewRequest) -> list[Invoice]:
    if request.amendment is not None:
        if request.period is not None or request.milestone_id is not None:
            raise RatingError("amendment", "is rated on its own: leave out period and milestone_id")
        return rate_amendment(
            previous_contract=request.amendment.previous_contract,
            contract=request.contract,
            change_date=request.amendment.change_date,
            invoice_id=request.invoice_id,
            credit_note_id=f"{request.invoice_id}-credit",
            activation_billed=request.activation_billed,
        )
    activation = request.event == "contract.activated"
    if activation and request.period is None:
        # The activation bills the first period from the start: that is its period.
        request = request.model_copy(
            update={"period": PreviewPeriod(start=request.contract.start_date, end=_next(request))}
        )
    if request.period is None:
        raise RatingError("period", "is required (start and exclusive end)")
    usage = UsageSummary(
        contract_id=request.contract.id,
        period_start=request.period.start,
        period_end=request.period.end,
        quantities=request.usage,
        events=request.events,
    )
    invoice = rate_contract(
        contract=request.contract,
        usage=usage,
        period_start=request.period.start,
        period_end=request.period.end,
        invoice_id=request.invoice_id,
        milestone_id=request.milestone_id,
        activation=activation,
        activation_billed=request.activation_billed,
    )
    return [invoice]


def _next(request: PreviewRequest) -> date:
    """The end of the contract's first billing period."""
    return billing_calendar(request.contract).containing(request.contract.start_date).end
