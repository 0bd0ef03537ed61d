"""Contracts for the burst, seeded through the systems' own API like any CRM sync would.

Each is a clone of the demo's C-1001 (a platform fee and API calls, USD, New York), whose
invoice stays far under the approval threshold, with one usage event per billed month.
"""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx

from schemas.events import BillingCycleClosed
from starters.events import cycle_closed

TEMPLATE_CONTRACT = "C-1001"
APPROVAL_TEMPLATE = "C-1009"
"""Carries a non-standard clause: its clones wait for a person."""
EVENTS_PER_REQUEST = 5_000


class SeedError(RuntimeError):
    """The systems refused a seed request; the message names the request and the answer."""


CONTRACT_PREFIX = "C-B"
"""The seeded contracts' ids begin so: a bench's own runs are counted by it."""


def contract_id(index: int) -> str:
    return f"{CONTRACT_PREFIX}{index:06d}"


def customer_id(index: int) -> str:
    return f"CU-B{index:06d}"


def cycle_event(
    index: int, period: tuple[date, date], *, contract: str | None = None
) -> BillingCycleClosed:
    contract = contract or contract_id(index)
    return cycle_closed(contract, period, event_id=f"evt-{contract}-{period[0]:%Y-%m}")


def _checked(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise SeedError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    return body


async def _clone(
    http: httpx.AsyncClient, *, template_id: str, new_contract: str, new_customer: str
) -> None:
    contract = _checked(await http.get(f"/crm/contracts/{template_id}"))
    customer = _checked(await http.get(f"/crm/customers/{contract['customer_id']}"))
    customer["id"] = new_customer
    contract["id"] = new_contract
    contract["customer_id"] = new_customer
    for charge in contract.get("charges", []):
        charge["id"] = f"{new_contract.lower()}-{charge['id']}"
    _checked(await http.put(f"/crm/customers/{new_customer}", json=customer))
    _checked(await http.put(f"/crm/contracts/{new_contract}", json=contract))


async def seed_contracts(
    http: httpx.AsyncClient,
    *,
    count: int,
    periods: list[tuple[date, date]],
    concurrency: int = 16,
) -> None:
    """Clone the template `count` times and post one API-calls event per contract and period."""
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with gate:
            await _clone(
                http,
                template_id=TEMPLATE_CONTRACT,
                new_contract=contract_id(index),
                new_customer=customer_id(index),
            )

    await asyncio.gather(*(one(i) for i in range(count)))
    events = [
        {
            "transaction_id": f"bench-{contract_id(i)}-{start:%Y-%m}",
            "contract_id": contract_id(i),
            "metric": "api_calls",
            "timestamp": datetime.combine(start, datetime.min.time(), tzinfo=UTC)
            .replace(day=15)
            .isoformat(),
            "properties": {"calls": str(100_000 + i % 50_000)},
        }
        for i in range(count)
        for start, _ in periods
    ]
    for first in range(0, len(events), EVENTS_PER_REQUEST):
        batch = events[first : first + EVENTS_PER_REQUEST]
        _checked(await http.post("/usage/events", json={"events": batch}))


async def seed_approval_contract(http: httpx.AsyncClient) -> str:
    """One clone of the contract that needs approval, for the approved run's history."""
    contract = "C-BAPPROVE"
    await _clone(
        http, template_id=APPROVAL_TEMPLATE, new_contract=contract, new_customer="CU-BAPPROVE"
    )
    return contract
