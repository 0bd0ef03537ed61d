"""The ERP: post an invoice exactly once, and read it back to reconcile."""

from decimal import Decimal

import httpx
from temporalio import activity

from activities.errors import raise_for_status
from activities.heartbeat import heartbeating
from billing.journal import journal_for
from schemas.journal import Posting, PostingRequest
from schemas.steps import (
    Difference,
    PostingResult,
    PostInvoiceInput,
    ReconcileInput,
    ReconcileResult,
)


class ErpActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _find(self, posting_key: str) -> Posting | None:
        response = await self._client.get(f"/erp/postings/{posting_key}")
        if response.status_code == 404:
            return None
        raise_for_status(response, system="erp")
        return Posting.model_validate(response.json())

    @activity.defn
    async def post_invoice(self, input: PostInvoiceInput) -> PostingResult:
        """Post under the posting key, which the ERP keeps unique: a retry after a lost
        response gets the committed posting back (200), different content a conflict (409)."""
        async with heartbeating():
            return await self._post(input)

    async def _post(self, input: PostInvoiceInput) -> PostingResult:
        request = PostingRequest(
            posting_key=input.posting_key, invoice=input.invoice, journal=journal_for(input.invoice)
        )
        response = await self._client.post("/erp/postings", json=request.model_dump(mode="json"))
        raise_for_status(response, system="erp")
        posting = Posting.model_validate(response.json())
        return PostingResult(
            posting_key=posting.posting_key,
            erp_document_id=posting.erp_document_id,
            already_posted=response.status_code == 200,
        )

    @activity.defn
    async def reconcile(self, input: ReconcileInput) -> ReconcileResult:
        """Compare the ERP's record with the invoice, line by line and in total."""
        async with heartbeating():
            posting = await self._find(input.posting_key)
        if posting is None:
            return ReconcileResult(
                matched=False,
                differences=[Difference(field="posting", expected=input.posting_key, found="")],
            )
        return compare_posting(expected=input, posting=posting)


def compare_posting(*, expected: ReconcileInput, posting: Posting) -> ReconcileResult:
    invoice, found = expected.invoice, posting.invoice
    differences: list[Difference] = []

    def check(field: str, want: object, got: object) -> None:
        if want != got:
            differences.append(Difference(field=field, expected=str(want), found=str(got)))

    check("currency", invoice.currency, found.currency)
    check("lines.count", len(invoice.lines), len(found.lines))
    for index, (want, got) in enumerate(zip(invoice.lines, found.lines, strict=False)):
        check(f"lines.{index}.amount", want.amount, got.amount)
        check(f"lines.{index}.charge_id", want.charge_id, got.charge_id)
    check("subtotal", invoice.subtotal, found.subtotal)
    check("tax_total", invoice.tax_total, found.tax_total)
    check("total", invoice.total, found.total)
    debits = sum((entry.debit for entry in posting.journal), Decimal(0))
    credits = sum((entry.credit for entry in posting.journal), Decimal(0))
    check("journal.balance", debits, credits)
    return ReconcileResult(matched=not differences, differences=differences, erp_total=found.total)
