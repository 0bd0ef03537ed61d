"""Customer master data as the CRM holds it.

Fields are kept as the CRM sends them (plain strings): broken master data must reach the
validate-customer step and become a reason a person can fix, not a parse error.
"""

import re
from typing import Literal

from pydantic import BaseModel, Field

CustomerType = Literal["business", "individual"]
PaymentMethod = Literal["auto_collect", "bank_transfer"]
DELIVERY_CHANNELS = ("email", "peppol")
"""How the customer receives documents: by e-mail, or over the Peppol network."""
PEPPOL_PARTICIPANT_ID = re.compile(
    r"^(?P<scheme>[0-9]{4}):(?P<identifier>[A-Za-z0-9][A-Za-z0-9._/+-]{0,129})$"
)
"""Peppol's `iso6523-actorid-upis` value: a four-digit ISO 6523 ICD scheme, a colon, the
identifier in that scheme (0208 Belgian enterprise number, 9930 German VAT number…)."""


class Address(BaseModel):
    line1: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = Field(description="ISO 3166-1 alpha-2, e.g. DE")
    subdivision: str = Field(default="", description="ISO 3166-2, e.g. US-NY, CA-BC")


class Customer(BaseModel):
    id: str
    name: str
    email: str
    customer_type: CustomerType = "business"
    tax_id: str = Field(default="", description="VAT/GST/EIN as printed, with its country prefix")
    address: Address | None = None
    currency: str
    exemption_certificate: str = Field(
        default="", description="Tax exemption certificate number, when the customer holds one"
    )
    payment_method: PaymentMethod = Field(
        default="bank_transfer",
        description="auto_collect: charged through the payment provider; bank_transfer: "
        "the run waits for the customer's payment (also when the CRM says nothing)",
    )
    dunning_excluded: bool = Field(default=False, description="Never sent dunning actions")
    blocked: bool = Field(default=False, description="The CRM holds the account")
    delivery_channel: str = Field(
        default="email", description="Where documents go: `email` or `peppol`"
    )
    peppol_id: str = Field(
        default="",
        description="Peppol participant id, `<ISO 6523 scheme>:<identifier>`, e.g. 0208:0123456789",
    )
