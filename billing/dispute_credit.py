"""A credit note for part (or all) of a disputed invoice, tax included.

The credited share of the invoice, `amount / total`, is applied to every line and every tax
line, each rounded half-up with `round_money`; what rounding leaves over (a minor unit or
two) goes on the largest line and its tax, so the credit note's total is exactly `amount`
and `total == subtotal + tax_total` holds.
"""

from decimal import Decimal

from billing.money import round_money
from schemas.invoice import Invoice


def dispute_credit_note(
    invoice: Invoice, *, amount: Decimal, credit_note_id: str, reason: str = ""
) -> Invoice:
    """The credit note for `amount` of `invoice` (0 < amount ≤ total); ValueError otherwise."""
    currency = invoice.currency
    if amount <= 0:
        raise ValueError(f"amount: {amount} must be more than zero")
    if round_money(amount, currency) != amount:
        raise ValueError(f"amount: {amount} is finer than {currency}'s minor unit")
    if amount > invoice.total:
        raise ValueError(f"amount: {amount} is more than the invoice's total {invoice.total}")
    if invoice.total <= 0 or not invoice.lines:
        raise ValueError("invoice: nothing was invoiced to credit")
    share = amount / invoice.total
    lines = [
        line.model_copy(
            update={
                "amount": round_money(line.amount * share, currency),
                "unrounded_amount": line.amount * share,
                "quantity": None,
                "unit_amount": None,
                "rule": f"{share:.6f} of the invoiced {line.amount} credited",
            }
        )
        for line in invoice.lines
    ]
    tax_lines = [
        tax.model_copy(
            update={
                "taxable_amount": round_money(tax.taxable_amount * share, currency),
                "tax_amount": round_money(tax.tax_amount * share, currency),
                "unrounded_tax_amount": tax.tax_amount * share,
            }
        )
        for tax in invoice.tax_lines
    ]
    subtotal = sum((line.amount for line in lines), Decimal(0))
    tax_total = sum((tax.tax_amount for tax in tax_lines), Decimal(0))
    if tax_lines:
        # The tax's rounding residue on the largest tax line, then the rest on the lines.
        exact_tax = round_money(invoice.tax_total * share, currency)
        biggest = max(range(len(tax_lines)), key=lambda i: tax_lines[i].tax_amount)
        tax_lines[biggest].tax_amount += exact_tax - tax_total
        tax_total = exact_tax
    residue = amount - tax_total - subtotal
    if residue:
        biggest = max(range(len(lines)), key=lambda i: lines[i].amount)
        lines[biggest].amount += residue
        subtotal += residue
    return invoice.model_copy(
        update={
            "invoice_id": credit_note_id,
            "document_type": "credit_note",
            "lines": lines,
            "tax_lines": tax_lines,
            "subtotal": subtotal,
            "tax_total": tax_total,
            "total": amount,
            "notes": [f"Credit for disputed invoice {invoice.invoice_id}: {reason}".rstrip(": ")],
        }
    )
