"""Payment and dispute events from the payment provider or the bank, in q2c's internal shape.

Each names the invoice it concerns by the ERP posting key (the run's workflow id, or the run's
id with `:credit-note`), by the ERP document number, or by both. Money is a `Money` object:
the shape of wire version 2, to which version 1's flat `amount` and `currency` are upcast
(`schemas.wire`).
"""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, TypeAdapter, model_validator

from schemas.money import Amount, CurrencyCode, minor_unit
from schemas.text import KEY_PATTERN, EventId, Key, Version, no_nul, not_a_dot_segment

_PostingKey = Annotated[
    str,
    Field(min_length=1, max_length=255, pattern=KEY_PATTERN),
    AfterValidator(not_a_dot_segment),
]
_InvoiceNumber = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=KEY_PATTERN),
    AfterValidator(not_a_dot_segment),
]
CREDIT_NOTE_SUFFIX = ":credit-note"


def check_minor_unit(amount: Decimal, currency: str) -> None:
    """An amount may not have more decimals than its currency's minor unit (no 1.005 EUR)."""
    exponent = amount.as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if digits > minor_unit(currency):
        raise ValueError(
            f"amount: {currency} has {minor_unit(currency)} decimals, "
            f"{format(amount, 'f')} has {digits}"
        )


class Money(BaseModel):
    """An exact amount in an ISO 4217 currency, with no more decimals than its minor unit."""

    amount: Amount = Field(gt=0)
    currency: CurrencyCode

    @model_validator(mode="after")
    def _fits_the_minor_unit(self) -> "Money":
        check_minor_unit(self.amount, self.currency)
        return self


class _Common(BaseModel):
    event_id: EventId
    occurred_at: AwareDatetime
    posting_key: _PostingKey | None = None
    invoice_number: _InvoiceNumber | None = None

    @model_validator(mode="after")
    def _names_an_invoice(self) -> "_Common":
        if self.posting_key is None and self.invoice_number is None:
            raise ValueError("posting_key: give the posting_key or the invoice_number, or both")
        return self


class _PaymentFields(_Common):
    payment_id: Key

    @property
    def business_key(self) -> str:
        return f"payment:{self.payment_id}:{getattr(self, 'type', '')}"


class _DisputeFields(_Common):
    dispute_id: Key
    payment_id: Key

    @property
    def business_key(self) -> str:
        return f"dispute:{self.dispute_id}:{getattr(self, 'type', '')}"


class SucceededFields(_PaymentFields):
    type: Literal["payment.succeeded"]


class FailedFields(_PaymentFields):
    type: Literal["payment.failed"]
    failure_code: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_nul)]
    failure_message: Annotated[str, Field(max_length=500), AfterValidator(no_nul)] = ""


class RefundedFields(_PaymentFields):
    type: Literal["payment.refunded"]
    refund_id: Key

    @property
    def business_key(self) -> str:
        return f"refund:{self.refund_id}"


class DisputeOpenedFields(_DisputeFields):
    type: Literal["dispute.opened"]
    reason: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(no_nul)]


class DisputeClosedFields(_DisputeFields):
    type: Literal["dispute.closed"]
    outcome: Literal["won", "lost"]


class _MoneyObject(BaseModel):
    schema_version: Annotated[Literal[2], Version] = Field(
        description="Version 2: money as {amount, currency}"
    )
    amount: Money


class PaymentSucceeded(SucceededFields, _MoneyObject):
    """The provider collected `amount` for the invoice."""


class PaymentFailed(FailedFields, _MoneyObject):
    """A charge for the invoice failed; `failure_code` is the provider's."""


class PaymentRefunded(RefundedFields, _MoneyObject):
    """`amount` of a payment went back to the customer."""


class DisputeOpened(DisputeOpenedFields, _MoneyObject):
    """The customer disputes `amount` of a payment with their bank."""


class DisputeClosed(DisputeClosedFields, _MoneyObject):
    """The dispute ended: `won` keeps the money, `lost` returns it."""


PaymentEvent = Annotated[
    PaymentSucceeded | PaymentFailed | PaymentRefunded | DisputeOpened | DisputeClosed,
    Field(discriminator="type"),
]
PAYMENT_EVENT_ADAPTER: TypeAdapter[PaymentEvent] = TypeAdapter(PaymentEvent)


def owner_workflow_id(posting_key: str) -> str:
    """The run that posted the document with this posting key (`workflow_id_for`): a credit
    note's key is its run's id with a suffix."""
    return posting_key.removesuffix(CREDIT_NOTE_SUFFIX)
