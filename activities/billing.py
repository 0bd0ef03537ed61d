"""The billing steps: the rules run here, so their result is recorded in the history and a
new pricing rule never breaks the replay of runs in flight."""

import decimal
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity

from activities.errors import permanent
from billing.charges.priced import clear_cache
from billing.rating import RatingError, rate_amendment, rate_contract
from billing.tax import Seller, TaxEngine, TaxError, apply_tax
from schemas.errors import ReasonCode
from schemas.invoice import Invoice
from schemas.steps import (
    AmendmentDocuments,
    ComputeTaxInput,
    DraftAmendmentInput,
    DraftInvoiceInput,
    TaxedInvoice,
)


@contextmanager
def _rating() -> Iterator[None]:
    """A rating error is permanent. The parse cache is emptied after each document: the
    contract arrived deserialised, so its parses can never be hit again, and kept they would
    hold thousands of past contracts in the worker."""
    try:
        yield
    except RatingError as error:
        raise permanent(ReasonCode.RATING_INVALID, str(error)) from None
    except decimal.DecimalException:
        # A retry would fail the same way: the figures, not the moment, are at fault.
        raise permanent(
            ReasonCode.RATING_INVALID,
            "the amounts are too large to rate exactly to the currency's minor unit",
        ) from None
    finally:
        clear_cache()


class BillingActivities:
    def __init__(self, *, tax_engine: TaxEngine, seller: Seller) -> None:
        self._tax_engine = tax_engine
        self._seller = seller

    @activity.defn
    async def draft_invoice(self, input: DraftInvoiceInput) -> Invoice:
        with _rating():
            return rate_contract(
                contract=input.contract,
                usage=input.usage,
                period_start=input.period_start,
                period_end=input.period_end,
                invoice_id=input.invoice_id,
                milestone_id=input.milestone_id,
                activation=input.activation,
                activation_billed=input.activation_billed,
            )

    @activity.defn
    async def draft_amendment(self, input: DraftAmendmentInput) -> AmendmentDocuments:
        """The credit note and the invoice of a mid-period change, each in its own field."""
        with _rating():
            documents = rate_amendment(
                previous_contract=input.previous_contract,
                contract=input.contract,
                change_date=input.change_date,
                invoice_id=input.invoice_id,
                credit_note_id=input.credit_note_id,
                activation_billed=input.activation_billed,
            )
        by_type = {document.document_type: document for document in documents}
        return AmendmentDocuments(
            invoice=by_type.get("invoice"), credit_note=by_type.get("credit_note")
        )

    @activity.defn
    async def compute_tax(self, input: ComputeTaxInput) -> TaxedInvoice:
        try:
            result = await self._tax_engine.compute(
                input.invoice, seller=self._seller, customer=input.customer
            )
        except TaxError as error:
            raise permanent(error.code, error.message) from None
        return TaxedInvoice(
            invoice=apply_tax(input.invoice, result),
            uncertain=result.uncertain,
            uncertain_reasons=result.uncertain_reasons,
        )
