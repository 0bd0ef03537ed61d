"""Routing and notification: reads the history routing scores against, routes, and tells
approvers.

History comes over HTTP from the ERP (the contract's earlier documents) and the usage platform
(usage in the periods those documents billed), so a score stands on what was actually billed.
`fetch_route_history` reads it, on the task queue; `route` decides from its input alone.
"""

import asyncio
import logging
from decimal import Decimal

import httpx
from pydantic import ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from activities.usage import usage_summary
from billing.anomaly import MODEL_VERSION
from billing.approvers import requirement_for
from billing.routing import (
    INVOICE_TOTAL_METRIC,
    RoutingPolicy,
    compare,
    risk_level,
    route,
    score_history,
)
from schemas.errors import ReasonCode
from schemas.events import key_prefix
from schemas.steps import (
    NotifyInput,
    PastInvoice,
    RouteDecision,
    RouteHistory,
    RouteHistoryInput,
    RouteInput,
)
from schemas.usage import UsageSummary
from schemas.views import APPROVALS, WRITE_OFFS, list_link, run_link

log = logging.getLogger("q2c.approvals")

NO_HISTORY = "no earlier invoices in the ERP: no change check, no anomaly score"


class RoutingActivities:
    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        policy: RoutingPolicy,
        webhook: httpx.AsyncClient | None = None,
        ui_url: str = "",
    ) -> None:
        self._client = client
        self._policy = policy
        self._ui_url = ui_url
        """The Web UI's address: a notice links the run's page and the approvers' view."""
        self._webhook = webhook

    @activity.defn
    async def fetch_route_history(self, input: RouteHistoryInput) -> RouteHistory:
        """The earlier documents of the same contract, reason and currency, and the usage
        in the periods they billed (for the metrics asked)."""
        async with heartbeating():
            invoices = await self._past_invoices(input)
            usage: list[UsageSummary] = []
            if input.metrics and invoices:
                usage = await self._past_usage(input, invoices)
        return RouteHistory(invoices=invoices, usage=usage)

    @activity.defn
    async def route(self, input: RouteInput) -> RouteDecision:
        """Straight through, or to a person with the reasons: from the input alone."""
        invoice, contract = input.invoice, input.contract
        past = input.history.invoices if input.history is not None else []
        observed: dict[str, Decimal] = {INVOICE_TOTAL_METRIC: invoice.total}
        history: dict[str, list[Decimal]] = {INVOICE_TOTAL_METRIC: [p.total for p in past]}
        if input.usage is not None and input.usage.quantities and past:
            observed.update(input.usage.quantities)
            for summary in input.history.usage if input.history is not None else []:
                for metric in input.usage.quantities:
                    history.setdefault(metric, []).append(
                        summary.quantities.get(metric, Decimal(0))
                    )
        scores, notes = score_history(observed=observed, history=history, policy=self._policy)
        if not past:
            notes.insert(0, NO_HISTORY)
        requirement = requirement_for(self._policy.approvals, invoice=invoice, owner=contract.owner)
        previous = compare(invoice.total, past[0].total if past else None)
        reasons = route(
            invoice=invoice,
            contract=contract,
            problems=input.problems,
            tax_uncertain=input.tax_uncertain,
            tax_uncertain_reasons=input.tax_uncertain_reasons,
            policy=self._policy,
            scores=scores,
            previous=previous,
        )
        if previous is not None:
            notes.append(f"change against the previous invoice: {previous.change_percent:+}%")
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

    async def _past_invoices(self, input: RouteHistoryInput) -> list[PastInvoice]:
        if self._policy.routing.history_invoices == 0:
            return []
        response = await self._client.get(
            f"/erp/customers/{segment(input.customer_id)}/invoice-history",
            params={
                "limit": self._policy.routing.history_invoices,
                "before": input.before.isoformat(),
            },
        )
        raise_for_status(response, system="erp")
        try:
            rows = [PastInvoice.model_validate(row) for row in response.json()]
        except (ValidationError, TypeError) as error:
            raise permanent(ReasonCode.BAD_REQUEST, f"erp invoice history: {error}") from None
        # A document's id is its run's business key (with a suffix for a credit note).
        prefix = key_prefix(input.contract_id, input.reason)
        return [
            row
            for row in rows
            if row.invoice_id.startswith(prefix)
            and row.currency == input.currency
            and row.invoice_id not in input.exclude
        ]

    async def _past_usage(
        self, input: RouteHistoryInput, past: list[PastInvoice]
    ) -> list[UsageSummary]:
        periods = sorted({(p.period_start, p.period_end) for p in past}, reverse=True)
        periods = periods[: self._policy.routing.history_periods]
        return list(
            await asyncio.gather(
                *(
                    usage_summary(
                        self._client,
                        contract_id=input.contract_id,
                        period_start=start,
                        period_end=end,
                    )
                    for start, end in periods
                )
            )
        )

    @activity.defn
    async def notify(self, input: NotifyInput) -> None:
        """A log line always; a webhook POST when the policy names one (5xx retries). With the
        UI's address known, both carry the link to the run's page and to the approvers' view."""
        body = input.model_dump(mode="json")
        if self._ui_url:
            # A write-off's notice says so first (workflows/collection.py).
            view = WRITE_OFFS if input.summary.startswith("write off") else APPROVALS
            body["link"] = run_link(
                self._ui_url, input.workflow_id, activity.info().workflow_run_id or ""
            )
            body["view_link"] = list_link(self._ui_url, view)
        log.warning(
            "approval %s: %s; approvers %s; due %s; %s%s",
            input.kind,
            input.workflow_id,
            ", ".join(input.approvers) or "-",
            input.due_at.isoformat() if input.due_at else "-",
            input.summary,
            f"; open {body['link']}" if "link" in body else "",
        )
        url = self._policy.notify.webhook_url
        if not url:
            return
        if self._webhook is None:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(url, json=body)
        else:
            response = await self._webhook.post(url, json=body)
        raise_for_status(response, system="webhook")
