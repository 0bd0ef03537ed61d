"""Small builders for contracts and usage, so each test states only what it is about."""

from datetime import date
from decimal import Decimal
from typing import Any

from schemas.contract import Charge, Contract
from schemas.usage import UsageSummary


def usage_charge(model: str, properties: dict[str, Any], *, metric: str = "calls") -> Charge:
    return Charge(
        id=f"{model}-{metric}",
        description=f"{model} {metric}",
        kind="usage",
        charge_model=model,
        properties=properties,
        metric=metric,
    )


def fee(
    amount: str, *, kind: str = "recurring", advance: bool = False, charge_id: str = "fee"
) -> Charge:
    return Charge(
        id=charge_id,
        description=f"{kind} fee {amount}",
        kind=kind,
        properties={"amount": amount},
        pay_in_advance=advance,
    )


def contract(*charges: Charge, currency: str = "USD", **fields: Any) -> Contract:
    data: dict[str, Any] = {
        "id": "c-1",
        "customer_id": "cust-1",
        "currency": currency,
        "plan": "growth",
        "start_date": date(2025, 1, 1),
        "charges": list(charges),
    }
    data.update(fields)
    return Contract.model_validate(data)


def usage(
    start: date,
    end: date,
    quantities: dict[str, str | int | Decimal] | None = None,
    events: dict[str, list[str]] | None = None,
) -> UsageSummary:
    return UsageSummary.model_validate(
        {
            "contract_id": "c-1",
            "period_start": start,
            "period_end": end,
            "quantities": quantities or {},
            "events": events or {},
        }
    )
