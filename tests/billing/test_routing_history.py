"""Routing history read from the real ERP and usage platform, and the route decided from it:
the history makes the reasons; `route` itself calls no system."""

from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from activities.erp import ErpActivities
from activities.routing import RoutingActivities
from billing.anomaly import MODEL_VERSION
from billing.routing import load_policy
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.invoice import Invoice
from schemas.steps import (
    PastInvoice,
    PostInvoiceInput,
    RouteDecision,
    RouteHistory,
    RouteHistoryInput,
    RouteInput,
)
from schemas.usage import UsageSummary
from tests.billing.routing_builders import invoice
from tests.conftest import SystemsService

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTRACT = "C-1003"
METRIC = "history_probe_calls"
YEAR = 2031  # no other test bills this year
REASON = "billing_cycle"  # a reason of this test's own: no run of another test compares


def _month(month: int, total: str, contract: Contract) -> Invoice:
    start = date(YEAR, month, 1)
    end = date(YEAR, month + 1, 1)
    return invoice(total, currency=contract.currency).model_copy(
        update={
            "invoice_id": f"{CONTRACT}:{REASON}:{start}:{end}",
            "contract_id": CONTRACT,
            "customer_id": contract.customer_id,
            "period_start": start,
            "period_end": end,
        }
    )


@pytest.fixture(scope="module")
async def history(systems: SystemsService) -> tuple[Contract, Customer]:
    """Four billed months (totals near 1000, 100 ± 10 calls a month)."""
    async with systems.client() as http:
        contract = Contract.model_validate((await http.get(f"/crm/contracts/{CONTRACT}")).json())
        customer_url = f"/crm/customers/{contract.customer_id}"
        customer = Customer.model_validate((await http.get(customer_url)).json())
        response = await http.put(
            f"/usage/metrics/{METRIC}",
            json={"name": "probe", "aggregation": "count", "field_name": None, "recurring": False},
        )
        assert response.status_code in (200, 201), response.text
        events = [
            {
                "transaction_id": f"probe-{month}-{n}",
                "contract_id": CONTRACT,
                "metric": METRIC,
                "timestamp": datetime(YEAR, month, 2, tzinfo=UTC).isoformat(),
                "properties": {},
            }
            for month, count in ((1, 100), (2, 110), (3, 95), (4, 105), (5, 101))
            for n in range(count)
        ]
        response = await http.post("/usage/events", json={"events": events})
        assert response.status_code in (200, 201), response.text
        erp = ErpActivities(client=http)
        for month, total in ((1, "1000"), (2, "1010"), (3, "990"), (4, "1005")):
            posting = PostInvoiceInput(
                posting_key=f"probe:{month}", invoice=_month(month, total, contract)
            )
            await ActivityEnvironment().run(erp.post_invoice, posting)
    return contract, customer


class Requests:
    """Every request an HTTP client sends (an httpx event hook on a real client)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.sent.append(f"{request.method} {request.url.path}")


async def _history(
    systems: SystemsService, draft: Invoice, *, reason: str = REASON, metrics: list[str]
) -> RouteHistory:
    async with systems.client() as http:
        routing = RoutingActivities(client=http, policy=load_policy())
        return await ActivityEnvironment().run(
            routing.fetch_route_history,
            RouteHistoryInput.like(
                draft, reason=reason, exclude=[draft.invoice_id], metrics=metrics
            ),
        )


async def _decide(
    systems: SystemsService,
    contract: Contract,
    customer: Customer,
    draft: Invoice,
    *,
    usage: UsageSummary | None,
    history: RouteHistory | None,
) -> tuple[RouteDecision, list[str]]:
    """The route decision, and the requests its activity sent on the way."""
    requests = Requests()
    async with httpx.AsyncClient(
        base_url=systems.url,
        headers={"Authorization": f"Bearer {systems.token}"},
        event_hooks={"request": [requests]},
    ) as http:
        routing = RoutingActivities(client=http, policy=load_policy())
        decision = await ActivityEnvironment().run(
            routing.route,
            RouteInput(
                invoice=draft,
                contract=contract.model_copy(update={"non_standard_clauses": []}),
                customer=customer,
                usage=usage,
                history=history,
            ),
        )
    return decision, requests.sent


async def _route(
    systems: SystemsService, history: tuple[Contract, Customer], total: str, calls: str
) -> RouteDecision:
    contract, customer = history
    draft = _month(5, total, contract)
    usage = UsageSummary(
        contract_id=CONTRACT,
        period_start=draft.period_start,
        period_end=draft.period_end,
        quantities={METRIC: Decimal(calls)},
    )
    past = await _history(systems, draft, metrics=[METRIC])
    decision, sent = await _decide(systems, contract, customer, draft, usage=usage, history=past)
    assert sent == []
    return decision


async def test_the_history_is_the_earlier_documents_most_recent_first_with_their_usage(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    contract, _ = history
    past = await _history(systems, _month(5, "1", contract), metrics=[METRIC])
    # Posted in the fixture: January to April 2031 at 1000, 1010, 990, 1005; 100, 110, 95
    # and 105 calls in those months.
    assert [(p.period_start.month, p.total) for p in past.invoices] == [
        (4, Decimal("1005")),
        (3, Decimal("990")),
        (2, Decimal("1010")),
        (1, Decimal("1000")),
    ]
    assert [(u.period_start.month, u.quantities[METRIC]) for u in past.usage] == [
        (4, Decimal(105)),
        (3, Decimal(95)),
        (2, Decimal(110)),
        (1, Decimal(100)),
    ]


async def test_route_decides_from_its_input_without_calling_any_system(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    contract, customer = history
    draft = _month(5, "1500", contract)
    given = RouteHistory(
        invoices=[
            PastInvoice(
                invoice_id=f"{CONTRACT}:{REASON}:earlier",
                period_start=date(YEAR, 4, 1),
                period_end=date(YEAR, 5, 1),
                total=Decimal("1000"),
                currency=contract.currency,
            )
        ]
    )
    decision, sent = await _decide(systems, contract, customer, draft, usage=None, history=given)
    assert sent == []
    # 1500 against 1000 is +50.00 %, which the shipped policy (±50 %) still allows; one
    # earlier value is too few to score (the policy needs 3).
    assert decision.reasons == []
    assert decision.notes == [
        "invoice_total: not scored, 1 earlier values (the policy needs 3)",
        "change against the previous invoice: +50.00%",
    ]


async def test_a_usual_month_goes_straight_through_with_its_scores(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    decision = await _route(systems, history, "1002", "101")
    assert decision.reasons == [], decision
    assert decision.approval is None
    assert decision.model_version == MODEL_VERSION
    assert {s.metric: s.history for s in decision.scores} == {"invoice_total": 4, METRIC: 4}
    assert "change against the previous invoice: -0.30%" in decision.notes


async def test_an_unusual_month_names_metric_range_and_observed_value(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    decision = await _route(systems, history, "1600", "400")
    codes = [r.code for r in decision.reasons]
    assert codes == ["change_vs_previous", "anomaly", "anomaly"], decision.reasons
    messages = [r.message for r in decision.reasons]
    assert messages[1].startswith("invoice_total is 1600, outside the expected range")
    assert messages[2].startswith(f"{METRIC} is 400, outside the expected range")
    assert "median 102.5 of the last 4" in messages[2]
    assert decision.risk_level == "high"
    assert decision.approval is not None and decision.approval.total == Decimal("1600")
    assert decision.approvers == ["ar.lead@q2c.example", "billing.ops@q2c.example"]


async def test_a_milestone_fee_is_not_compared_with_the_monthly_invoices(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    contract, customer = history
    milestone = _month(5, "5000", contract).model_copy(
        update={"invoice_id": f"{CONTRACT}:milestone:go-live-{YEAR}"}
    )
    past = await _history(systems, milestone, reason="milestone", metrics=[])
    assert past.invoices == []
    decision, _ = await _decide(systems, contract, customer, milestone, usage=None, history=past)
    assert decision.reasons == [], decision.reasons
    assert decision.scores == []


async def test_no_history_means_no_score_and_the_result_says_so(
    systems: SystemsService, history: tuple[Contract, Customer]
) -> None:
    contract, customer = history
    draft = _month(1, "1000", contract).model_copy(update={"customer_id": "CU-nobody"})
    past = await _history(systems, draft, metrics=[METRIC])
    assert past == RouteHistory()
    decision, _ = await _decide(systems, contract, customer, draft, usage=None, history=past)
    assert decision.reasons == []
    assert decision.scores == []
    assert decision.notes[0] == (
        "no earlier invoices in the ERP: no change check, no anomaly score"
    )
