"""The Web UI's views of the runs that need a person, and the links that open them.

Each view is a visibility query on the run's search attributes; the UI (2.54) takes it in the
list's URL (`?query=`), so a link opens the list filtered. The columns a view shows are the
browser's own setting per namespace, not part of a link: docs/approvals.md says how to add
them once and save the view."""

from dataclasses import dataclass
from urllib.parse import quote, urlencode


@dataclass(frozen=True)
class View:
    name: str
    query: str
    columns: tuple[str, ...]
    """The search attributes worth adding as columns (Configure Columns)."""
    purpose: str


APPROVALS = View(
    name="Approvals",
    query='Q2CStatus = "AwaitingApproval" AND DunningLevel IS NULL',
    columns=("CustomerId", "InvoiceTotal", "RiskLevel", "ApprovalDueAt"),
    purpose="invoices waiting for an approver's decision",
)
WRITE_OFFS = View(
    name="Write-offs proposed",
    query='Q2CStatus = "AwaitingApproval" AND DunningLevel IS NOT NULL',
    columns=("CustomerId", "AmountDue", "DunningLevel", "ApprovalDueAt"),
    purpose="unpaid invoices a dunning level proposes to write off, waiting for approvers",
)
DISPUTES = View(
    name="Disputed",
    query='Q2CStatus = "Disputed"',
    columns=("CustomerId", "AmountDue", "DueAt", "DunningLevel"),
    purpose="invoices the customer disputes, waiting for a resolution",
)
DELIVERY_FAILED = View(
    name="Delivery failed",
    query='Q2CStatus = "NeedsAttention" AND ReasonCode IN ("delivery_failed", "einvoice_invalid")',
    columns=("CustomerId", "InvoiceTotal", "ReasonCode", "ContractId"),
    purpose="posted invoices the customer's address or the e-invoice rules refused",
)
NEEDS_ATTENTION = View(
    name="Needs attention",
    query='Q2CStatus = "NeedsAttention"',
    columns=("CustomerId", "InvoiceTotal", "ReasonCode", "ContractId"),
    purpose="every run stopped for a person, whatever the cause",
)
VIEWS = (APPROVALS, WRITE_OFFS, DISPUTES, DELIVERY_FAILED, NEEDS_ATTENTION)


def list_link(ui_url: str, view: View, *, namespace: str = "default") -> str:
    """The UI's workflow list filtered by the view's query."""
    return (
        f"{ui_url.rstrip('/')}/namespaces/{namespace}/workflows?{urlencode({'query': view.query})}"
    )


def run_link(ui_url: str, workflow_id: str, run_id: str = "", *, namespace: str = "default") -> str:
    """A run's page; with the run id, on its User Metadata tab, where the summary and the
    current details (what it waits for, how to answer) are the first screen."""
    base = f"{ui_url.rstrip('/')}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
    return f"{base}/{quote(run_id, safe='')}/user-metadata" if run_id else base
