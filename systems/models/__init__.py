"""Tables and API shapes of the systems (each module: XBase, X(table=True), XPublic)."""

from systems.models.crm import Contract, ContractVersion, Customer, CustomerBlock
from systems.models.erp import DocumentCounter, JournalLine, Posting
from systems.models.erp_cash import CashJournalLine, CashPosting
from systems.models.faults import StoredFaultRule
from systems.models.payments import (
    IdempotentRequest,
    PaymentCharge,
    PaymentIntent,
    PaymentMethod,
    Refund,
)
from systems.models.peppol import Transmission
from systems.models.revenue import (
    ClosedPeriod,
    RevenueJournalLine,
    RevenueRecognition,
    RevenueScheduleLine,
)
from systems.models.usage import Metric, UsageEvent

__all__ = [
    "CashJournalLine",
    "CashPosting",
    "ClosedPeriod",
    "IdempotentRequest",
    "PaymentIntent",
    "PaymentMethod",
    "Refund",
    "Contract",
    "ContractVersion",
    "Customer",
    "CustomerBlock",
    "DocumentCounter",
    "JournalLine",
    "Metric",
    "PaymentCharge",
    "StoredFaultRule",
    "Posting",
    "RevenueJournalLine",
    "RevenueRecognition",
    "RevenueScheduleLine",
    "Transmission",
    "UsageEvent",
]
