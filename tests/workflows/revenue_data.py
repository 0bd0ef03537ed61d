"""Documents with a revenue schedule, posted to a test's own systems through the real
posting activity, billed in a month the test chooses."""

import dataclasses
import uuid
from datetime import UTC, date, datetime

import httpx
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.erp import ErpActivities
from billing.rating import rate_contract
from schemas.contract import Charge
from schemas.revenue import RecognitionRunInput, RecognitionRunResult, RevenueTerms, terms_of
from schemas.steps import PostingResult, PostInvoiceInput
from schemas.usage import UsageSummary
from tests.billing.builders import contract
from workflows.revenue_recognition import RevenueRecognitionWorkflow

QUARTER = (date(2026, 10, 1), date(2027, 1, 1))


def quarterly_fee(currency: str, amount: str = "300.00") -> tuple[PostInvoiceInput, RevenueTerms]:
    """A quarterly fee for October..December 2026 billed in arrears, recognised evenly per
    month: 300.00 is 100.00 in each of October, November and December."""
    terms_contract = contract(
        Charge(
            id="support",
            description="Support, quarterly",
            kind="recurring",
            properties={"amount": amount},
            recognition="ratable_monthly",
        ),
        currency=currency,
        id=f"ctr-rev-{currency}",
        start_date=QUARTER[0],
        billing_interval="quarterly",
        product_line="support",
    )
    invoice = rate_contract(
        contract=terms_contract,
        usage=UsageSummary(
            contract_id=terms_contract.id, period_start=QUARTER[0], period_end=QUARTER[1]
        ),
        period_start=QUARTER[0],
        period_end=QUARTER[1],
        invoice_id=f"INV-rev-{currency}",
    )
    terms = terms_of(terms_contract)
    key = f"rev-test:{currency}:{invoice.invoice_id}"
    return PostInvoiceInput(posting_key=key, invoice=invoice, revenue=terms), terms


async def post_billed_in(
    http: httpx.AsyncClient, document: PostInvoiceInput, *, scheduled: datetime
) -> PostingResult:
    """Post through `ErpActivities.post_invoice` as if Temporal scheduled it at `scheduled`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, scheduled_time=scheduled, current_attempt_scheduled_time=scheduled
    )
    result: PostingResult = await env.run(ErpActivities(client=http).post_invoice, document)
    return result


BILLED_IN_OCTOBER = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


async def recognise(env: WorkflowEnvironment, task_queue: str, month: str) -> RecognitionRunResult:
    """One monthly recognition run for `month`, under an id no other run has."""
    result: RecognitionRunResult = await env.client.execute_workflow(
        RevenueRecognitionWorkflow.run,
        RecognitionRunInput(month=month),
        id=f"test:revenue:{month}:{uuid.uuid4()}",
        task_queue=task_queue,
    )
    return result
