"""Routing: straight through, or to a person with the reasons in front of them."""

from decimal import Decimal

from pydantic import BaseModel, Field

from schemas.contract import Contract
from schemas.invoice import Invoice
from schemas.runs import Problem, RouteReason


class RoutingPolicy(BaseModel):
    version: str = "default-1"
    approval_threshold: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "USD": Decimal("10000"),
            "EUR": Decimal("10000"),
            "GBP": Decimal("8000"),
            "CAD": Decimal("13000"),
            "AUD": Decimal("15000"),
            "JPY": Decimal("1500000"),
        },
        description="Totals at or above this, per currency, need approval",
    )


def route(
    *,
    invoice: Invoice,
    contract: Contract,
    problems: list[Problem],
    tax_uncertain: bool,
    policy: RoutingPolicy,
) -> list[RouteReason]:
    """Every reason a person must look; none means straight through."""
    reasons: list[RouteReason] = []
    for clause in contract.non_standard_clauses:
        reasons.append(
            RouteReason(code="non_standard_clause", message=f"Non-standard clause: {clause}")
        )
    if contract.price_override:
        reasons.append(
            RouteReason(code="price_override", message="The contract carries a manual price")
        )
    threshold = policy.approval_threshold.get(invoice.currency)
    if threshold is not None and invoice.total >= threshold:
        reasons.append(
            RouteReason(
                code="amount_threshold",
                message=f"Total {invoice.total} {invoice.currency} is at or above the "
                f"{threshold} {invoice.currency} approval threshold",
            )
        )
    for problem in problems:
        if not problem.blocking:
            reasons.append(
                RouteReason(
                    code="validation_warning", message=f"{problem.field}: {problem.message}"
                )
            )
    if tax_uncertain:
        reasons.append(RouteReason(code="tax_uncertain", message="The tax result is uncertain"))
    return reasons
