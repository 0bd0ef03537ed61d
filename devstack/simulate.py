"""`q2c collections simulate`: a scenario's invoice collected by the real workflow code on
Temporal's time-skipping server, against a systems service of its own.

The scenario's dates are the user's; the server's clock starts today. Every date is moved by
the same number of days (today − the invoice's issue date) on the way in and back on the way
out: the policy's `effective_from`s, the events, the timeline. Events happen at 12:00 UTC of
their day, after the dunning levels of that day (which fire at midnight).
"""

import asyncio
import json
import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from billing.dunning import DunningPolicies, DunningPolicyError, load_dunning_policy
from billing.money import quantum, round_money
from devstack.stack import DevStack, Ports
from devstack.timeskip import time_skipping_worker
from schemas.collection import (
    CollectionAnswer,
    DisputeNotice,
    DisputeResolution,
    PaymentNotice,
    RaiseDispute,
    RecordPayment,
)
from schemas.errors import field_problems
from schemas.money import Amount, CurrencyCode
from schemas.runs import RunState, RunStatus
from starters.events import cycle_closed, month
from starters.intake import run_handle, start_run
from workers.telemetry import quiet_runtime

# A country where the shipped seller holds no tax registration: the invoice carries one
# `not_collecting` line at 0 %, so its total is the scenario's amount.
NO_TAX_ADDRESS = {"line1": "1 Raffles Place", "city": "Singapore", "postal_code": "048616"}
NO_TAX_COUNTRY = "SG"
EVENT_HOUR = time(12, tzinfo=UTC)
# After the last level, long enough for a write-off proposal's approval wait (7 days) to end.
DEFAULT_TAIL_DAYS = 10
TERMINAL = {RunState.PAID, RunState.WRITTEN_OFF, RunState.REFUNDED}

DeclineCode = Literal[
    "insufficient_funds",
    "card_declined",
    "generic_decline",
    "expired_card",
    "do_not_honor",
    "lost_card",
]


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the field and the reason."""


class ScenarioInvoice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=100)
    issue_date: date
    amount: Amount = Field(gt=0)
    currency: CurrencyCode
    payment_terms_days: int = Field(ge=0, le=365)
    payment_method: Literal["auto_collect", "bank_transfer"]

    @model_validator(mode="after")
    def _at_minor_unit(self) -> "ScenarioInvoice":
        if self.amount != self.amount.quantize(quantum(self.currency)):
            raise ValueError(f"amount: {self.amount} is finer than {self.currency}'s minor unit")
        return self

    @property
    def due_date(self) -> date:
        return self.issue_date + timedelta(days=self.payment_terms_days)


class PaymentFailed(BaseModel):
    """A card or debit attempt declines: the attempt the policy's card schedule makes that day."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["payment_failed"]
    date: date
    decline_code: DeclineCode = "card_declined"


class PaymentReceived(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["payment_received"]
    date: date
    amount: Amount = Field(gt=0)
    reference: str = Field(default="", max_length=100)


class DisputeOpened(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["dispute_opened"]
    date: date
    reason: str = Field(default="disputed by the customer", min_length=1, max_length=500)


class DisputeResolved(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["dispute_resolved"]
    date: date
    outcome: Literal["upheld", "credited"]
    amount: Amount | None = Field(default=None, gt=0, description="The credit, when credited")

    @model_validator(mode="after")
    def _amount_when_credited(self) -> "DisputeResolved":
        if self.outcome == "credited" and self.amount is None:
            raise ValueError("amount: a credited dispute needs the amount to credit")
        if self.outcome == "upheld" and self.amount is not None:
            raise ValueError("amount: an upheld dispute credits nothing")
        return self


Event = Annotated[
    PaymentFailed | PaymentReceived | DisputeOpened | DisputeResolved,
    Field(discriminator="type"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: dict[str, Any] | str = Field(
        description="The dunning policy: inline (the TOML file's structure) or a file's path"
    )
    invoice: ScenarioInvoice
    events: list[Event] = Field(default_factory=list)
    until: date | None = Field(
        default=None, description="Simulate to this day; default: 10 days after the last level"
    )

    @model_validator(mode="after")
    def _events_in_order(self) -> "Scenario":
        issued = self.invoice.issue_date
        previous = issued
        for index, event in enumerate(self.events):
            where = f"events.{index}.date"
            if event.date < issued:
                raise ValueError(f"{where}: {event.date} is before the issue date {issued}")
            if event.date < previous:
                raise ValueError(f"{where}: {event.date} comes before the event above it")
            previous = event.date
            if isinstance(event, PaymentFailed) and self.invoice.payment_method != "auto_collect":
                raise ValueError(
                    f"events.{index}.type: payment_failed needs invoice.payment_method "
                    "auto_collect (a bank transfer is not attempted)"
                )
        codes = {e.decline_code for e in self.events if isinstance(e, PaymentFailed)}
        if len(codes) > 1:
            raise ValueError(f"events: one decline_code for all payment_failed, not {codes}")
        if self.until is not None and self.until < previous:
            raise ValueError(f"until: {self.until} is before the last event ({previous})")
        return self


def load_scenario(path: Path) -> Scenario:
    try:
        raw = json.loads(path.read_text())
    except OSError as error:
        raise ScenarioError(f"{path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{path}: not valid JSON: {error}") from None
    return parse_scenario(raw)


def parse_scenario(raw: object) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as error:
        raise ScenarioError(field_problems(error, whole="scenario")) from None


def scenario_policy(scenario: Scenario, *, base: Path) -> DunningPolicies:
    """The scenario's policy, checked as the worker checks its file; a path is taken from
    the scenario's folder."""
    if isinstance(scenario.policy, str):
        path = Path(scenario.policy)
        try:
            return load_dunning_policy(path if path.is_absolute() else base / path)
        except DunningPolicyError as error:
            raise ScenarioError(f"policy: {error}") from None
    try:
        return DunningPolicies.model_validate(scenario.policy)
    except ValidationError as error:
        raise ScenarioError(field_problems(error, prefix="policy.", whole="scenario")) from None


def check_against_policy(scenario: Scenario, policies: DunningPolicies) -> None:
    """What only the policy can say: a version in force on the due date, and each declined
    attempt on the day the card schedule makes it."""
    due = scenario.invoice.due_date
    try:
        policy = policies.in_force(due)
    except DunningPolicyError as error:
        raise ScenarioError(f"policy: {error} (the invoice falls due on {due})") from None
    failed = [(i, e) for i, e in enumerate(scenario.events) if isinstance(e, PaymentFailed)]
    days = policy.card_retry_days
    if len(failed) > len(days):
        index = failed[len(days)][0]
        raise ScenarioError(
            f"events.{index}: the policy makes {len(days)} card attempts; "
            f"this is payment_failed number {len(days) + 1}"
        )
    for attempt, (index, event) in enumerate(failed):
        planned = due + timedelta(days=days[attempt])
        if event.date != planned:
            raise ScenarioError(
                f"events.{index}.date: card attempt {attempt + 1} falls on {planned} "
                f"({days[attempt]} days after the due date), not {event.date}"
            )


class TimelineRow(BaseModel):
    at: datetime
    state: str
    level: str
    action: str


class Simulation(BaseModel):
    invoice: str
    policy_version: str
    due_date: date
    timeline: list[TimelineRow]
    final_state: str
    amount_due: Amount
    currency: str

    def as_json(self) -> dict[str, Any]:
        """The documented output: the timeline, the final state and the amount due."""
        return {
            "timeline": [
                {
                    "at": row.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "state": row.state,
                    "level": row.level,
                    "action": row.action,
                }
                for row in self.timeline
            ],
            "final_state": self.final_state,
            "amount_due": format(self.amount_due, "f"),
        }


def shifted(policies: DunningPolicies, days: timedelta) -> DunningPolicies:
    return policies.model_copy(
        update={
            "versions": [
                v.model_copy(update={"effective_from": v.effective_from + days})
                for v in policies.versions
            ]
        }
    )


def _horizon(scenario: Scenario, policies: DunningPolicies) -> date:
    if scenario.until is not None:
        return scenario.until
    due = scenario.invoice.due_date
    policy = policies.in_force(due)
    last = max(
        [lv.days_past_due for lv in policy.levels] + policy.card_retry_days + [0],
    )
    end = due + timedelta(days=last + DEFAULT_TAIL_DAYS)
    return max([end, *(e.date for e in scenario.events)])


async def _put(http: httpx.AsyncClient, path: str, body: Mapping[str, Any]) -> None:
    response = await http.put(path, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"systems refused {path}: {response.status_code} {response.text}")


async def _set_up(
    http: httpx.AsyncClient, scenario: Scenario, *, today: date, tag: str
) -> tuple[str, tuple[date, date]]:
    """A customer with no tax to collect, a one-line contract with the invoice's amount as
    a flat monthly fee, and for auto_collect a card that declines as the scenario says."""
    invoice = scenario.invoice
    customer, contract = f"SIM-CU-{tag}", f"SIM-C-{tag}"
    previous = today.replace(day=1) - timedelta(days=1)
    period = month(previous.year, previous.month)
    await _put(
        http,
        f"/crm/customers/{customer}",
        {
            "name": f"Simulated customer ({invoice.number})",
            "email": f"ap@{tag.lower()}.simulated.example",
            "customer_type": "business",
            "currency": invoice.currency,
            "payment_method": invoice.payment_method,
            "address": {**NO_TAX_ADDRESS, "country": NO_TAX_COUNTRY},
        },
    )
    failed = [e for e in scenario.events if isinstance(e, PaymentFailed)]
    if invoice.payment_method == "auto_collect":
        await _put(
            http,
            f"/payments/payment_methods/pm_sim_{tag.lower()}",
            {
                "customer": customer,
                "type": "card",
                "brand": "visa",
                "last4": "4242",
                "decline_next": len(failed),
                "decline_code": failed[0].decline_code if failed else "card_declined",
            },
        )
    await _put(
        http,
        f"/crm/contracts/{contract}",
        {
            "customer_id": customer,
            "currency": invoice.currency,
            "plan": "Simulation",
            "owner": "owner@simulated.example",
            "billing_interval": "monthly",
            "start_date": period[0].isoformat(),
            "payment_terms_days": invoice.payment_terms_days,
            "charges": [
                {
                    "id": "sim-fee",
                    "description": f"Invoice {invoice.number}",
                    "kind": "recurring",
                    "charge_model": "standard",
                    "properties": {"amount": format(invoice.amount, "f")},
                    "pay_in_advance": False,
                }
            ],
        },
    )
    return contract, period


Handle = WorkflowHandle[object, RunStatus]


async def _status(handle: Handle) -> RunStatus:
    status: RunStatus = await handle.query("status", result_type=RunStatus)
    return status


async def _until_collecting(handle: Handle, env_sleep: Any) -> RunStatus:
    for _ in range(600):
        status = await _status(handle)
        if status.collection is not None and (status.state.collecting or status.state in TERMINAL):
            return status
        if status.state in {RunState.REJECTED, RunState.NEEDS_ATTENTION}:
            raise RuntimeError(f"the run ended {status.state.value}: {status.reason}")
        if status.state is RunState.AWAITING_APPROVAL:
            raise ScenarioError(
                f"invoice.amount: {status.total} {status.currency} needs an approver under the "
                "routing policy before it is posted; simulate a smaller amount"
            )
        await env_sleep()
    raise RuntimeError("the run did not reach collection within 60 seconds")


async def _send(handle: Handle, index: int, name: str, body: BaseModel) -> None:
    try:
        answer: CollectionAnswer = await handle.execute_update(
            name, body, result_type=CollectionAnswer
        )
    except WorkflowUpdateFailedError as error:
        raise ScenarioError(f"events.{index}: the run refused it: {error.cause or error}") from None
    if answer.outcome == "refused":
        raise ScenarioError(f"events.{index}: the run refused it: {answer.detail}")


async def simulate(scenario: Scenario, policies: DunningPolicies) -> Simulation:
    """Collect the scenario's invoice on the time-skipping server and return its timeline."""
    check_against_policy(scenario, policies)
    invoice = scenario.invoice
    today = datetime.now(UTC).date()
    offset = today - invoice.issue_date
    horizon = _horizon(scenario, policies)
    tag = uuid.uuid4().hex[:8].upper()
    with tempfile.TemporaryDirectory(prefix="q2c-simulate-") as scratch:
        folder = Path(scratch)
        stack = DevStack(home=folder, ports=Ports.random(), encryption=False, with_worker=False)
        await asyncio.to_thread(stack.start_systems_only)
        try:
            async with stack.systems_client() as http:
                contract, period = await _set_up(http, scenario, today=today, tag=tag)
            async with time_skipping_worker(
                systems_url=stack.systems_url,
                systems_token=stack.token,
                smtp_url=f"smtp://127.0.0.1:{stack.ports.outbox}?starttls=off",
                folder=folder,
                dunning=shifted(policies, offset),
                runtime=quiet_runtime(),  # stdout carries the timeline alone
            ) as skipping:
                env = skipping.env
                event = cycle_closed(contract, period, event_id=f"evt-simulate-{tag}")
                outcome = await start_run(env.client, event, task_queue=skipping.task_queue)
                handle: Handle = run_handle(env.client, outcome.workflow_id)
                status = await _until_collecting(handle, lambda: asyncio.sleep(0.1))
                progress = status.collection
                assert progress is not None
                if progress.total != invoice.amount:
                    raise RuntimeError(
                        f"the posted invoice came to {progress.total}, not {invoice.amount}"
                    )
                if progress.posted_on != today:
                    raise RuntimeError("the day changed while the invoice was posted: run again")

                async def _to(day: date) -> None:
                    target = datetime.combine(day + offset, EVENT_HOUR)
                    now = await env.get_current_time()
                    if target > now:
                        await env.sleep(target - now)

                for index, scripted in enumerate(scenario.events):
                    await _to(scripted.date)
                    if isinstance(scripted, PaymentFailed):
                        continue  # the card declines on its own: decline_next is set
                    state = (await _status(handle)).state
                    if state in TERMINAL:
                        raise ScenarioError(
                            f"events.{index}: the run had already ended {state.value} "
                            f"before {scripted.date}"
                        )
                    if isinstance(scripted, PaymentReceived):
                        notice = PaymentNotice(
                            amount=scripted.amount,
                            currency=invoice.currency,
                            reference=scripted.reference or f"SIM-{index}",
                            value_date=scripted.date + offset,
                        )
                        await _send(handle, index, "record_payment", RecordPayment(notice))
                    elif isinstance(scripted, DisputeOpened):
                        notice_d = DisputeNotice(reason=scripted.reason, by="simulation")
                        await _send(handle, index, "dispute", RaiseDispute(notice_d))
                    else:
                        resolution = DisputeResolution(
                            outcome=scripted.outcome, credit_amount=scripted.amount
                        )
                        await _send(handle, index, "resolve_dispute", resolution)
                if (await _status(handle)).state not in TERMINAL:
                    await _to(horizon)
                final = await _status(handle)
                if final.state not in TERMINAL:
                    await handle.terminate("simulation over")
        finally:
            await asyncio.to_thread(stack.stop)
    collection = final.collection
    assert collection is not None
    return Simulation(
        invoice=invoice.number,
        policy_version=collection.policy_version,
        due_date=invoice.due_date,
        timeline=[
            TimelineRow(
                at=(entry.at - offset).replace(second=0, microsecond=0),
                state=entry.state,
                level=entry.level,
                action=entry.action,
            )
            for entry in collection.timeline
        ],
        final_state=final.state.value,
        amount_due=round_money(Decimal(collection.amount_due), invoice.currency),
        currency=invoice.currency,
    )
