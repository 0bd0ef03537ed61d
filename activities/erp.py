"""The ERP: post an invoice exactly once, and read it back to reconcile."""

from datetime import UTC, tzinfo
from decimal import Decimal

import httpx
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from billing.journal import journal_for
from billing.rating import RatingError, billing_calendar
from billing.revenue import RevenueError, deferral_journal, revenue_schedule, split_deferred
from billing.revenue.credits import CreditedLine, PostedSchedule, credited_lines
from billing.revenue.methods import month_of
from schemas.bounded import cut
from schemas.errors import ReasonCode
from schemas.events import key_prefix
from schemas.invoice import Invoice
from schemas.journal import Posting, PostingRequest
from schemas.steps import (
    ActivationFound,
    CorrectedInvoice,
    Difference,
    FindActivationInput,
    FindCorrectedInput,
    PostingResult,
    PostInvoiceInput,
    ReconcileInput,
    ReconcileResult,
)


class ErpActivities:
    def __init__(self, *, client: httpx.AsyncClient, time_zone: tzinfo = UTC) -> None:
        """`time_zone`: the seller's, in which a document's billing month is counted."""
        self._client = client
        self._time_zone = time_zone

    async def _find(self, posting_key: str) -> Posting | None:
        response = await self._client.get(f"/erp/postings/{segment(posting_key)}")
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
        exclusive = input.first_period and input.invoice.document_type == "invoice"
        if exclusive:
            await self._refuse_billed_elsewhere(input)
        request = await self._request(input)
        # Without a schedule the request is the one posted before revenue recognition.
        plain = {"revenue_schedule", "billed_month"} if request.revenue_schedule is None else set()
        # The default entity is not sent: the request is the one posted before entities.
        unsent = plain | (set() if request.entity else {"entity"})
        # The check above reads, then posts: two runs posting at once both pass it. The ERP
        # checks again in the posting's transaction, so one of them is refused.
        request.exclusive_service_periods = exclusive
        unsent |= set() if exclusive else {"exclusive_service_periods"}
        response = await self._client.post(
            "/erp/postings", json=request.model_dump(mode="json", exclude=unsent)
        )
        if response.status_code == 409:
            await self._posted_earlier(input)
            if exclusive:
                raise permanent(
                    ReasonCode.POSTING_CONFLICT,
                    f"{_refusal(response)}; reset the run to its first workflow task to draft "
                    "it again without that fee",
                )
        raise_for_status(response, system="erp")
        posting = Posting.model_validate(response.json())
        return PostingResult(
            posting_key=posting.posting_key,
            erp_document_id=posting.erp_document_id,
            already_posted=response.status_code == 200,
            posted_at=posting.posted_at,
        )

    async def _refuse_billed_elsewhere(self, input: PostInvoiceInput) -> None:
        """The first period's in-advance fees are billed by the activation or by the first
        close, never both. Each decided so from what it looked up when it drafted; a run
        reset past that decision (or stopped and reset) would post on it. So the ERP, the
        source of truth, is asked again now: another of the contract's invoices with a line
        of the same charge and service period means that fee is billed, and nothing is
        posted (the run's own key, a retry, is no other)."""
        invoice = input.invoice
        mine = {
            (line.charge_id, line.period_start, line.period_end): line
            for line in invoice.lines
            if line.period_start is not None
        }
        if not mine:
            return
        response = await self._client.get(
            "/erp/postings", params={"contract_id": invoice.contract_id, "limit": _SCANNED}
        )
        raise_for_status(response, system="erp")
        for item in response.json():
            posting = Posting.model_validate(item)
            other = posting.invoice
            if posting.posting_key == input.posting_key or other.document_type != "invoice":
                continue
            for line in other.lines:
                if (line.charge_id, line.period_start, line.period_end) in mine:
                    raise permanent(
                        ReasonCode.POSTING_CONFLICT,
                        f"the {line.charge_id} fee for {line.period_start} to "
                        f"{line.period_end} is already billed by {posting.erp_document_id} "
                        f"(posting key {posting.posting_key}): nothing posted; reset the run "
                        "to its first workflow task to draft it again without that fee",
                    )

    async def _posted_earlier(self, input: PostInvoiceInput) -> None:
        """The key is posted with other content: a run reset after its usage or terms
        changed rates again and posts the same key. Say which document the ERP holds and
        how the new rating differs, for a person to credit and re-bill (docs/operations.md,
        "Resetting a run"); nothing is posted twice."""
        posting = await self._find(input.posting_key)
        if posting is None:
            return  # gone since: the plain conflict stands
        compared = compare_posting(
            expected=ReconcileInput.of(input.posting_key, input.invoice),
            posting=posting,
        )
        differences = "; ".join(
            f"{d.field}: re-rated {d.expected}, posted {d.found}" for d in compared.differences
        )
        raise permanent(
            ReasonCode.POSTING_CONFLICT,
            f"posted earlier as {posting.erp_document_id}; re-rated differs"
            + (f": {cut(differences)}" if differences else "")
            + f" (posting key {input.posting_key})",
        )

    async def _request(self, input: PostInvoiceInput) -> PostingRequest:
        """The document's journal; with revenue terms, the deferral journal and the schedule.

        The billing month is the month of the run's event (else of the activity's first
        scheduling) in the seller's time zone: every retry, and any run of the same business
        key, posts the same content. A credit note whose terms say `match_credits` reverses
        what the invoice lines it credits have still to recognise (billing.revenue.credits),
        read from the schedules the ERP holds for the contract."""
        if input.revenue is None:
            return PostingRequest(
                posting_key=input.posting_key,
                invoice=input.invoice,
                journal=journal_for(input.invoice),
            )
        billed_at = input.revenue.billed_at or activity.info().scheduled_time
        billed_month = month_of(billed_at.astimezone(self._time_zone))
        credited = None
        if input.revenue.match_credits and input.invoice.document_type == "credit_note":
            credited = await self._credited(input)
        try:
            schedule = revenue_schedule(input.invoice, input.revenue, credited=credited)
        except RevenueError as error:
            raise permanent(ReasonCode.REVENUE_INVALID, f"revenue schedule: {error}") from None
        posted = split_deferred(
            schedule, billed_month=billed_month, product_line=input.revenue.product_line
        )
        return PostingRequest(
            posting_key=input.posting_key,
            invoice=input.invoice,
            journal=deferral_journal(input.invoice, posted),
            revenue_schedule=posted,
            billed_month=billed_month,
            entity=input.revenue.entity,
        )

    async def _credited(self, input: PostInvoiceInput) -> dict[str, CreditedLine]:
        """The invoice lines the credit note's lines credit, with their schedules net of
        earlier credit notes; the note's own posting (a retry) is left out."""
        note = input.invoice
        response = await self._client.get(
            "/erp/postings", params={"contract_id": note.contract_id, "limit": _SCANNED}
        )
        raise_for_status(response, system="erp")
        charges = {line.charge_id for line in note.lines}
        first = min(line.period_start or note.period_start for line in note.lines)
        posted = []
        for item in response.json():
            posting = Posting.model_validate(item)
            document = posting.invoice
            if posting.posting_key == input.posting_key or document.currency != note.currency:
                continue
            # Only documents serving a credited charge past the credit's start can match:
            # years of monthly invoices cost one read each otherwise.
            if not any(
                line.charge_id in charges and (line.period_end or document.period_end) > first
                for line in document.lines
            ):
                continue
            lines = await self._client.get(
                "/erp/revenue/schedule-lines", params={"posting_key": posting.posting_key}
            )
            raise_for_status(lines, system="erp")
            entries = [
                (str(e["line_id"]), str(e["month"]), Decimal(str(e["amount"])))
                for e in lines.json()
            ]
            posted.append(PostedSchedule(posting.posting_key, posting.invoice, entries))
        return credited_lines(note, posted)

    @activity.defn
    async def find_corrected_invoice(self, input: FindCorrectedInput) -> CorrectedInvoice:
        """The posted invoice a credit note gives fees back from (its BT-25): the latest of
        the contract's invoices that billed one of the credited charges for a service
        period holding the credited one's start. Empty when the ERP holds none (the
        invoice was billed before q2c): the credit note then goes out without BT-25."""
        async with heartbeating():
            response = await self._client.get(
                "/erp/postings",
                params={"contract_id": input.credit_note.contract_id, "limit": _SCANNED},
            )
        raise_for_status(response, system="erp")
        postings = [Posting.model_validate(item) for item in response.json()]
        found = [
            p
            for p in postings
            if p.posting_key not in input.exclude and _corrects(input.credit_note, p.invoice)
        ]
        if not found:
            return CorrectedInvoice()
        latest = max(found, key=lambda p: p.posted_at)
        return CorrectedInvoice(
            erp_document_id=latest.erp_document_id, issue_date=latest.posted_at.date()
        )

    @activity.defn
    async def find_activation(self, input: FindActivationInput) -> ActivationFound:
        """The contract's posted activation invoice whose service period starts in the
        billing period holding `as_of`: when there is one, that period's in-advance and
        one-time fees are billed, and a close or a change in it must not bill them again."""
        contract = input.contract
        try:
            period = billing_calendar(contract).containing(input.as_of)
        except (RatingError, ValueError) as error:
            raise permanent(ReasonCode.RATING_INVALID, f"billing calendar: {error}") from None
        async with heartbeating():
            response = await self._client.get(
                "/erp/postings", params={"contract_id": contract.id, "limit": _SCANNED}
            )
        raise_for_status(response, system="erp")
        prefix = f"q2c:{key_prefix(contract.id, 'activation')}"
        for item in response.json():
            posting = Posting.model_validate(item)
            invoice = posting.invoice
            if (
                posting.posting_key.startswith(prefix)
                and invoice.document_type == "invoice"
                and period.start <= invoice.period_start < period.end
            ):
                return ActivationFound(
                    erp_document_id=posting.erp_document_id, posting_key=posting.posting_key
                )
        return ActivationFound()

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


_SCANNED = 1000
"""Postings of one contract read to find a credit note's invoice: decades of monthly runs."""


def _refusal(response: httpx.Response) -> str:
    """The ERP's reason for a 409, as it wrote it."""
    try:
        body = response.json()
    except ValueError:
        return cut(response.text)
    return cut(str(body.get("detail", body) if isinstance(body, dict) else body))


def _corrects(credit_note: Invoice, invoice: Invoice) -> bool:
    if invoice.document_type != "invoice" or invoice.currency != credit_note.currency:
        return False
    return any(
        billed.charge_id == credited.charge_id
        and billed.period_start is not None
        and billed.period_end is not None
        and credited.period_start is not None
        and billed.period_start <= credited.period_start < billed.period_end
        for credited in credit_note.lines
        for billed in invoice.lines
    )


def compare_posting(*, expected: ReconcileInput, posting: Posting) -> ReconcileResult:
    found = posting.invoice
    differences: list[Difference] = []

    def check(field: str, want: object, got: object) -> None:
        if want != got:
            differences.append(Difference(field=field, expected=str(want), found=str(got)))

    check("currency", expected.currency, found.currency)
    check("lines.count", len(expected.lines), len(found.lines))
    for index, (want, got) in enumerate(zip(expected.lines, found.lines, strict=False)):
        check(f"lines.{index}.amount", want.amount, got.amount)
        check(f"lines.{index}.charge_id", want.charge_id, got.charge_id)
    check("subtotal", expected.subtotal, found.subtotal)
    check("tax_total", expected.tax_total, found.tax_total)
    check("total", expected.total, found.total)
    debits = sum((entry.debit for entry in posting.journal), Decimal(0))
    credits = sum((entry.credit for entry in posting.journal), Decimal(0))
    check("journal.balance", debits, credits)
    return ReconcileResult(matched=not differences, differences=differences, erp_total=found.total)
