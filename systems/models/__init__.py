"""Tables and API shapes of the systems (each module: XBase, X(table=True), XPublic)."""

from systems.models.crm import Contract, ContractVersion, Customer
from systems.models.erp import DocumentCounter, JournalLine, Posting
from systems.models.peppol import Transmission
from systems.models.usage import Metric, UsageEvent

__all__ = [
    "Contract",
    "ContractVersion",
    "Customer",
    "DocumentCounter",
    "JournalLine",
    "Metric",
    "Posting",
    "Transmission",
    "UsageEvent",
]
