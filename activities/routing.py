"""Routing and notification: reads the history routing scores against, and tells approvers.

History comes over HTTP from the ERP (the contract's earlier invoices) and the usage platform
(usage in the periods those invoices billed), so a score stands on what was actually billed.
"""

import asyncio
import logging
from datetime import date
from decimal import Decimal

import httpx
from pydantic import BaseModel, ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from billing.anomaly import MODEL_VERSION
from billing.approvers import requirement_for
from billing.routing import (
    INVOICE_TOTAL_METRIC,
    RoutingPolicy,
    change_percent,
    risk_level,
    route,
    score_history,
)
from schemas.errors import ReasonCode
from schemas.steps import NotifyInput, RouteDecision, RouteInput
from schemas.usage import UsageSummary

log = logging.getLogger("q2c.approvals")


class PastInvoice(BaseModel):
    """One row of the ERP's invoice history (the fields routing needs)."""

    invoice_id: str
    period_start: date
    period_end: date
    total: Decimal
    currency: str


class RoutingActivities:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        policy: RoutingPolicy,
        webhook: httpx.AsyncClient | None = None,
    ) -> None:
        self._client = client
        self._policy = policy
        self._webhook = webhook

    @activity.defn
    async def route(self, input: RouteInput) -> RouteDecision:
        invoice, contract = input.invoice, input.contract
        past = await self._past_invoices(input)
        observed: dict[str, Decimal] = {INVOICE_TOTAL_METRIC: invoice.total}
        history: dict[str, list[Decimal]] = {INVOICE_TOTAL_METRIC: [p.total for p in past]}
        if input.usage is not None and input.usage.quantities and past:
            observed.update(input.usage.quantities)
            for summary in await self._past_usage(input, past):
                for metric in input.usage.quantities:
                    history.setdefault(metric, []).append(
                        summary.quantities.get(metric, Decimal(0))
                    )
        scores, notes = score_history(observed=observed, history=history, policy=self._policy)
        if not past:
            notes.insert(0, "no earlier invoices in the ERP: no change check, no anomaly score")
        requirement = requirement_for(self._policy.approvals, invoice=invoice, owner=contract.owner)
        reasons = route(
            invoice=invoice,
            contract=contract,
            problems=input.problems,
            tax_uncertain=input.tax_uncertain,
            policy=self._policy,
            scores=scores,
            previous_total=past[0].total if past else None,
        )
        change = change_percent(invoice.total, past[0].total if past else None)
        if change is not None:
            notes.append(f"change against the previous invoice: {change:+}%")
        tiers = requirement.tiers()
        return RouteDecision(
            reasons=reasons,
            risk_level=risk_level(reasons, approvals_needed=requirement.approvals_needed),
            approvers=requirement.approvers_at(tiers[0]) if tiers else [],
            policy_version=self._policy.version,
            model_version=MODEL_VERSION,
            scores=scores,
            notes=notes,
            approval=requirement if reasons else None,
        )

    async def _past_invoices(self, input: RouteInput) -> list[PastInvoice]:
        if self._policy.routing.history_invoices == 0:
            return []
        response = await self._client.get(
            f"/erp/customers/{input.invoice.customer_id}/invoice-history",
            params={
                "limit": self._policy.routing.history_invoices,
                "before": input.invoice.period_start.isoformat(),
            },
        )
        raise_for_status(response, system="erp")
        try:
            rows = [PastInvoice.model_validate(row) for row in response.json()]
        except (ValidationError, TypeError) as error:
            raise permanent(ReasonCode.BAD_REQUEST, f"erp invoice history: {error}") from None
        kind = _invoice_kind(input.invoice.invoice_id)
        return [
            row
            for row in rows
            if row.invoice_id.startswith(f"{input.contract.id}:")
            and _invoice_kind(row.invoice_id) == kind
            and row.currency == input.invoice.currency
            and row.invoice_id != input.invoice.invoice_id
        ]

    async def _past_usage(self, input: RouteInput, past: list[PastInvoice]) -> list[UsageSummary]:
        periods = sorted({(p.period_start, p.period_end) for p in past}, reverse=True)
        periods = periods[: self._policy.routing.history_periods]

        async def one(start: date, end: date) -> UsageSummary:
            response = await self._client.get(
                "/usage/summary",
                params={
                    "contract_id": input.contract.id,
                    "period_start": start.isoformat(),
                    "period_end": end.isoformat(),
                },
            )
            raise_for_status(response, system="usage")
            try:
                return UsageSummary.model_validate(response.json())
            except ValidationError as error:
                raise permanent(ReasonCode.BAD_REQUEST, f"usage summary: {error}") from None

        return list(await asyncio.gather(*(one(start, end) for start, end in periods)))

    @activity.defn
    async def notify(self, input: NotifyInput) -> None:
        """A log line always; a webhook POST when the policy names one (5xx retries)."""
        log.warning(
            "approval %s: %s; approvers %s; due %s; %s",
            input.kind,
            input.workflow_id,
            ", ".join(input.approvers) or "-",
            input.due_at.isoformat() if input.due_at else "-",
            input.summary,
        )
        url = self._policy.notify.webhook_url
        if not url:
            return
        if self._webhook is None:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(url, json=input.model_dump(mode="json"))
        else:
            response = await self._webhook.post(url, json=input.model_dump(mode="json"))
        raise_for_status(response, system="webhook")


def _invoice_kind(invoice_id: str) -> str:
    """The business reason in an invoice id (`C-1002:cycle:…`, `C-1002:milestone:go-live`):
    a one-time milestone fee says nothing about what a monthly invoice should be."""
    parts = invoice_id.split(":")
    return parts[1] if len(parts) > 2 else ""
