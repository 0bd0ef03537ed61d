"""Payment provider: payment methods, PaymentIntents, their charges and refunds, in the shape
of Stripe's API (amounts are integers in the currency's minor unit, currencies lower-case).

A payment method carries its behaviour for the demo and the tests: decline the next
`decline_next` charges with `decline_code`, and settle a charge only `processing_seconds`
after it was confirmed (a direct debit), answering `processing` meanwhile.
"""

from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

PaymentMethodType = Literal["card", "sepa_debit", "us_bank_account"]
IntentStatus = Literal[
    "requires_payment_method", "requires_confirmation", "processing", "succeeded", "canceled"
]
DeclineCode = Literal[
    "insufficient_funds",
    "card_declined",
    "generic_decline",
    "expired_card",
    "do_not_honor",
    "lost_card",
]
MAX_AMOUNT = 99_999_999
"""Stripe's ceiling for an amount in minor units (999,999.99 of a two-decimal currency)."""


class PaymentMethodBase(SQLModel):
    customer: str = SQLField(min_length=1, index=True, description="The CRM's customer id")
    type: PaymentMethodType = SQLField(default="card", sa_type=sa.String)
    brand: str = SQLField(default="", description="visa, mastercard… for a card")
    last4: str = SQLField(default="", max_length=4)
    is_default: bool = SQLField(default=True, description="Charged when no method is named")
    decline_next: int = SQLField(default=0, ge=0, le=1_000, description="Decline this many charges")
    decline_code: DeclineCode = SQLField(default="card_declined", sa_type=sa.String)
    processing_seconds: int = SQLField(
        default=0, ge=0, le=86_400, description="A charge settles this long after confirming"
    )


class PaymentMethod(PaymentMethodBase, table=True):
    __tablename__ = "payment_method"

    id: str = SQLField(primary_key=True)


class PaymentMethodUpsert(PaymentMethodBase):
    id: str | None = SQLField(default=None, description="Must equal the id in the path when given")


class PaymentMethodPublic(PaymentMethodBase):
    id: str
    object: Literal["payment_method"] = "payment_method"


class PaymentIntentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(gt=0, le=MAX_AMOUNT, description="In the currency's minor unit")
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    customer: str = Field(min_length=1)
    payment_method: str | None = Field(
        default=None, description="The customer's default method when omitted"
    )
    confirm: bool = False
    off_session: bool = True
    description: str = ""
    metadata: dict[str, str] = Field(default_factory=dict)


class PaymentIntentConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_method: str | None = None


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_intent: str = Field(min_length=1)
    amount: int | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, description="What is left to refund when omitted"
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class LastPaymentError(BaseModel):
    type: Literal["card_error"] = "card_error"
    code: Literal["card_declined"] = "card_declined"
    decline_code: str
    message: str
    payment_method: str


class PaymentIntentPublic(BaseModel):
    id: str
    object: Literal["payment_intent"] = "payment_intent"
    amount: int
    amount_received: int
    amount_refunded: int
    currency: str
    customer: str
    payment_method: str | None
    status: IntentStatus
    last_payment_error: LastPaymentError | None
    latest_charge: str | None
    description: str
    metadata: dict[str, str]
    created: int = Field(description="Unix seconds")


class RefundPublic(BaseModel):
    id: str
    object: Literal["refund"] = "refund"
    amount: int
    currency: str
    payment_intent: str
    charge: str
    status: Literal["succeeded"] = "succeeded"
    reason: str | None
    metadata: dict[str, str]
    created: int


class PaymentIntent(SQLModel, table=True):
    __tablename__ = "payment_intent"

    id: str = SQLField(primary_key=True)
    customer: str = SQLField(index=True)
    amount: int = SQLField(sa_type=sa.BigInteger)
    currency: str
    payment_method: str | None = None
    status: str
    amount_received: int = SQLField(default=0, sa_type=sa.BigInteger)
    amount_refunded: int = SQLField(default=0, sa_type=sa.BigInteger)
    last_payment_error: dict[str, Any] | None = SQLField(default=None, sa_type=sa.JSON)
    latest_charge: str | None = None
    settles_at: datetime | None = SQLField(default=None, description="UTC; while processing")
    description: str = ""
    intent_metadata: dict[str, str] = SQLField(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = SQLField(description="UTC")


class PaymentCharge(SQLModel, table=True):
    """One attempt to collect: succeeded, pending (processing) or failed (declined)."""

    __tablename__ = "payment_charge"

    id: str = SQLField(primary_key=True)
    payment_intent: str = SQLField(foreign_key="payment_intent.id", index=True)
    amount: int = SQLField(sa_type=sa.BigInteger)
    currency: str
    payment_method: str
    status: str
    decline_code: str | None = None
    created_at: datetime


class Refund(SQLModel, table=True):
    __tablename__ = "payment_refund"

    id: str = SQLField(primary_key=True)
    payment_intent: str = SQLField(foreign_key="payment_intent.id", index=True)
    charge: str
    amount: int = SQLField(sa_type=sa.BigInteger)
    currency: str
    reason: str | None = None
    refund_metadata: dict[str, str] = SQLField(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime


class IdempotentRequest(SQLModel, table=True):
    """A POST made with an Idempotency-Key, and the answer it got, replayed on a retry."""

    __tablename__ = "idempotent_request"

    key: str = SQLField(primary_key=True, max_length=255)
    path: str
    request_hash: str
    status_code: int
    response: dict[str, Any] = SQLField(sa_type=sa.JSON)
    created_at: datetime


class PaymentTotals(BaseModel):
    """What the provider moved, per currency, in minor units: for the exactly-once checks."""

    intents: int
    charges_succeeded: int
    charges_declined: int
    by_currency: dict[str, dict[str, int]]
