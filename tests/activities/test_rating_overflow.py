"""Amounts a CRM may hold (each within its bounds) whose product is past exact decimal
arithmetic: the draft fails for good, naming why, instead of being retried for ever."""

from datetime import date

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.billing import BillingActivities
from billing.tax import Seller, default_engine
from schemas.errors import ReasonCode
from schemas.steps import DraftInvoiceInput
from tests.billing.builders import contract, usage, usage_charge


async def test_a_product_too_large_to_round_is_a_permanent_rating_error() -> None:
    priced = contract(usage_charge("standard", {"amount": "99999999999999.99"}))
    period = (date(2026, 10, 1), date(2026, 11, 1))
    draft = DraftInvoiceInput(
        contract=priced,
        usage=usage(*period, quantities={"calls": "99999999999999"}),
        period_start=period[0],
        period_end=period[1],
        invoice_id="overflow",
    )
    billing = BillingActivities(tax_engine=default_engine(), seller=Seller())
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(billing.draft_invoice, draft)
    assert raised.value.type == ReasonCode.RATING_INVALID
    assert raised.value.non_retryable
    assert "too large to rate exactly" in raised.value.message
