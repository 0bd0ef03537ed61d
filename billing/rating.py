"""Rating: a contract, its usage and a period in; an untaxed invoice out."""

from datetime import date
from decimal import Decimal

from billing.money import round_money
from schemas.contract import Charge, Contract
from schemas.invoice import Invoice, InvoiceLine
from schemas.usage import UsageSummary


class RatingError(ValueError):
    """The contract or its usage cannot be rated; `field` is the path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _amount(charge: Charge, index: int) -> Decimal:
    raw = charge.properties.get("amount")
    if raw is None:
        raise RatingError(f"charges.{index}.properties.amount", "is required")
    if isinstance(raw, float):
        raise RatingError(f"charges.{index}.properties.amount", "must be a string, not a float")
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        raise RatingError(
            f"charges.{index}.properties.amount", f"{raw!r} is not a number"
        ) from None


def rate_contract(
    *,
    contract: Contract,
    usage: UsageSummary,
    period_start: date,
    period_end: date,
    invoice_id: str,
    milestone_id: str | None = None,
) -> Invoice:
    """Rate every charge that applies to the period and round each line half-up."""
    if period_end <= period_start:
        raise RatingError("period_end", "must be after period_start")
    lines: list[InvoiceLine] = []
    for index, charge in enumerate(contract.charges):
        if charge.kind == "one_time" and charge.milestone_id != milestone_id:
            continue
        if milestone_id is not None and charge.kind != "one_time":
            continue
        price = _amount(charge, index)
        quantity: Decimal | None = None
        if charge.kind == "usage":
            assert charge.metric is not None
            quantity = usage.quantities.get(charge.metric, Decimal(0))
            if quantity < 0:
                raise RatingError(f"usage.quantities.{charge.metric}", "is negative")
            unrounded = price * quantity
            rule = f"standard: {quantity} {charge.metric} x {price}"
        else:
            unrounded = price
            rule = f"{charge.kind} fee {price}"
        lines.append(
            InvoiceLine(
                line_id=f"L{len(lines) + 1}",
                charge_id=charge.id,
                description=charge.description,
                charge_model=charge.charge_model,
                quantity=quantity,
                unit_amount=price if quantity is not None else None,
                amount=round_money(unrounded, contract.currency),
                unrounded_amount=unrounded,
                rule=rule,
                period_start=period_start,
                period_end=period_end,
            )
        )
    subtotal = sum((line.amount for line in lines), Decimal(0))
    return Invoice(
        invoice_id=invoice_id,
        contract_id=contract.id,
        customer_id=contract.customer_id,
        currency=contract.currency,
        period_start=period_start,
        period_end=period_end,
        lines=lines,
        subtotal=subtotal,
        tax_total=Decimal(0),
        total=subtotal,
    )
