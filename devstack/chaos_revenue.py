"""Chaos for the monthly revenue recognition: the run for the first month with deferred
revenue, with the worker killed under it while the ERP faults, then run again; afterwards
each `revenue:<month>:<currency>` entry is booked once, no deferred line of that month or
before is left, and the deferred-revenue account equals the schedules in every currency.

The chaos runs bill past months, recognised at once; so that the run has something to
recognise, two prepaid fees are posted first (12 months from this month, ratably per month),
as a run would post them."""

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from billing.rating import rate_contract
from billing.revenue import DEFERRED_REVENUE, deferral_journal, revenue_schedule, split_deferred
from billing.revenue.methods import add_months, month_of
from schemas.contract import Charge, Contract
from schemas.journal import PostingRequest
from schemas.revenue import RecognitionRunInput, RecognitionRunResult, terms_of
from schemas.usage import UsageSummary
from workflows.revenue_recognition import RevenueRecognitionWorkflow


@dataclass(frozen=True, kw_only=True)
class RevenueState:
    """What the ERP holds after the runs: the month's entries, what is still due, and per
    currency the account's balance beside the schedules'."""

    month: str
    booked: Sequence[tuple[str, str]]
    """(posting key, currency) of every entry booked for the month."""
    due: int
    balances: Sequence[tuple[str, str, str]]
    """(currency, ledger, scheduled)."""


def revenue_findings(state: RevenueState) -> list[tuple[str, str]]:
    """(key, detail) of each breach: an entry booked twice, a currency booked under another's
    key, a deferred line left behind, a ledger that differs from the schedules."""
    findings = []
    for key, count in Counter(key for key, _ in state.booked).items():
        if count > 1:
            findings.append((key, f"booked {count} times"))
    for key, currency in state.booked:
        # Another entity's entry is `revenue:<month>:<CUR>:<entity>`.
        own = f"revenue:{state.month}:{currency}"
        if key != own and not key.startswith(f"{own}:"):
            findings.append((key, f"booked for {currency}"))
    if state.due:
        findings.append((f"revenue:{state.month}", f"{state.due} deferred line(s) not recognised"))
    for currency, ledger, scheduled in state.balances:
        if ledger != scheduled:
            findings.append(
                (f"deferred:{currency}", f"ledger {ledger} differs from schedules {scheduled}")
            )
    return findings


async def _result(client: Client, workflow_id: str, deadline: float) -> RecognitionRunResult | None:
    handle = client.get_workflow_handle(workflow_id, result_type=RecognitionRunResult)
    while time.monotonic() < deadline:
        try:
            return await asyncio.wait_for(handle.result(), max(deadline - time.monotonic(), 1))
        except (RPCError, TimeoutError):
            await asyncio.sleep(1.0)
        except WorkflowFailureError:
            return None
    return None


async def _read(http: httpx.AsyncClient, path: str, params: dict[str, str]) -> Any:
    """A GET through the faults still on: 5xx and 429 are asked again."""
    for _ in range(60):
        try:
            response = await http.get(path, params=params)
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code < 500 and response.status_code != 429:
            return response.raise_for_status().json()
        await asyncio.sleep(0.5)
    raise RuntimeError(f"GET {path} kept failing")


def prepaid_documents(today: date) -> list[dict[str, Any]]:
    """A prepaid annual fee in USD and EUR from the 1st of `today`'s month, billed this month:
    every month of it deferred. Posting keys are fixed: posting again changes nothing."""
    start = today.replace(day=1)
    end = add_months(start, 12)
    requests = []
    for currency, amount in (("USD", "1200.00"), ("EUR", "900.00")):
        contract = Contract(
            id=f"C-CHAOS-REV-{currency}",
            customer_id="CU-1001",
            currency=currency,
            plan="prepaid",
            product_line="chaos",
            billing_interval="annual",
            alignment="anniversary",
            start_date=start,
            charges=[
                Charge(
                    id="prepaid",
                    description="Prepaid annual fee",
                    kind="recurring",
                    properties={"amount": amount},
                    recognition="ratable_monthly",
                )
            ],
        )
        invoice = rate_contract(
            contract=contract,
            usage=UsageSummary(contract_id=contract.id, period_start=start, period_end=end),
            period_start=start,
            period_end=end,
            invoice_id=f"chaos-prepaid-{currency}-{start:%Y-%m}",
        )
        posted = split_deferred(
            revenue_schedule(invoice, terms_of(contract)),
            billed_month=month_of(start),
            product_line=contract.product_line,
        )
        request = PostingRequest(
            posting_key=f"q2c:{contract.id}:prepaid:{start:%Y-%m}",
            invoice=invoice,
            journal=deferral_journal(invoice, posted),
            revenue_schedule=posted,
            billed_month=month_of(start),
        )
        requests.append(request.model_dump(mode="json"))
    return requests


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> None:
    """A POST through the faults: an idempotent write asked again until it is answered."""
    for _ in range(60):
        try:
            response = await http.post(path, json=body)
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code < 500 and response.status_code != 429:
            response.raise_for_status()
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"POST {path} kept failing")


async def _start(client: Client, workflow_id: str, month: str, queue: str, deadline: float) -> None:
    """Start the run, through a Temporal server that chaos has just restarted."""
    while True:
        try:
            await client.start_workflow(
                RevenueRecognitionWorkflow.run,
                RecognitionRunInput(month=month),
                id=workflow_id,
                task_queue=queue,
            )
            return
        except WorkflowAlreadyStartedError:
            return  # an attempt whose answer was lost started it
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


async def _due(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = await _read(http, "/erp/revenue/schedule-lines", {"due": "true"})
    return lines


async def recognise_under_faults(
    *,
    client: Client,
    http: httpx.AsyncClient,
    task_queue: str,
    kill_worker: Callable[[random.Random], Awaitable[None]] | None,
    rng: random.Random,
    deadline: float,
    record: Callable[[str], None],
) -> RevenueState | None:
    """None when nothing is deferred (no run to check)."""
    for request in prepaid_documents(datetime.now(UTC).date()):
        await _post(http, "/erp/postings", request)
    due = await _due(http)
    if not due:
        record("revenue: nothing deferred to recognise")
        return None
    month = min(str(line["month"]) for line in due)
    ids = [f"chaos:revenue:{month}:{attempt}" for attempt in (1, 2)]
    await _start(client, ids[0], month, task_queue, deadline)
    record(f"revenue: recognition of {month} started ({len(due)} deferred lines)")
    if kill_worker is not None:
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        await kill_worker(rng)
    first = await _result(client, ids[0], deadline)
    record(f"revenue: first run {'ended' if first else 'did not end'}")
    await _start(client, ids[1], month, task_queue, deadline)
    second = await _result(client, ids[1], deadline)
    record(f"revenue: run again {'ended' if second else 'did not end'}")
    booked = await _read(http, "/erp/revenue/recognitions", {"month": month})
    currencies = sorted({str(line["currency"]) for line in due})
    balances = []
    for currency in currencies:
        answer = await _read(
            http,
            "/erp/revenue/deferred-balance",
            {"currency": currency, "account": DEFERRED_REVENUE},
        )
        balances.append((currency, str(answer["ledger"]), str(answer["scheduled"])))
    return RevenueState(
        month=month,
        booked=[(str(b["posting_key"]), str(b["currency"])) for b in booked],
        due=len([line for line in await _due(http) if str(line["month"]) <= month]),
        balances=balances,
    )
