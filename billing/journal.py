"""The double-entry journal of an invoice: receivable debit, revenue and tax credits."""

from decimal import Decimal

from schemas.invoice import Invoice
from schemas.journal import JournalEntry

RECEIVABLE = "1200 Accounts receivable"
REVENUE = "4000 Revenue"
TAX_PAYABLE = "2300 Tax payable"


def journal_for(invoice: Invoice) -> list[JournalEntry]:
    """Debits equal credits to the minor unit because the invoice total is built the same way.

    A credit note swaps the sides.
    """
    zero = Decimal(0)
    entries = [
        JournalEntry(
            account=RECEIVABLE, debit=invoice.total, credit=zero, description="Invoice total"
        ),
        JournalEntry(
            account=REVENUE, debit=zero, credit=invoice.subtotal, description="Net revenue"
        ),
    ]
    if invoice.tax_total:
        entries.append(
            JournalEntry(
                account=TAX_PAYABLE, debit=zero, credit=invoice.tax_total, description="Tax"
            )
        )
    if invoice.document_type == "credit_note":
        entries = [e.model_copy(update={"debit": e.credit, "credit": e.debit}) for e in entries]
    return entries
