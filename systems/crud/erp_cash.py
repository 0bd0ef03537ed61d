"""Cash application: payments, refunds and write-offs against posted documents, exactly once
per posting key, and the open items they leave per customer."""

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from systems.crud.erp import commit_posting, fingerprint, journal_lines, next_document_id
from systems.errors import Conflict, InvalidInput, NotFound
from systems.models.erp import Posting
from systems.models.erp_cash import (
    CashJournalEntry,
    CashJournalLine,
    CashPosting,
    CashPostingPublic,
    CashPostingRequest,
    OpenItem,
    OpenItems,
)
from systems.types import minor_unit, money_text

CASH = "1000 Cash"
RECEIVABLE = "1200 Accounts receivable"
CUSTOMER_CREDIT = "2400 Customer credit balances"
BAD_DEBT = "6900 Bad debt expense"
ZERO = Decimal(0)


def _same_or_conflict(posting: CashPosting, content_hash: str) -> CashPosting:
    if posting.content_hash != content_hash:
        raise Conflict(
            f"posting key {posting.posting_key} already posted with different content "
            f"(as {posting.cash_document_id})"
        )
    return posting


def get_cash_posting(*, session: Session, posting_key: str) -> CashPosting | None:
    query = select(CashPosting).where(col(CashPosting.posting_key) == posting_key)
    return session.exec(query).first()


def _document(*, session: Session, document_id: str) -> Posting:
    # Writing the document's row first locks it (the row on PostgreSQL, the database on
    # SQLite): two cash postings of one document queue here, each seeing the other's amount.
    session.execute(
        sa.update(Posting)
        .where(col(Posting.erp_document_id) == document_id)
        .values(posting_key=col(Posting.posting_key))
    )
    document = session.exec(
        select(Posting).where(col(Posting.erp_document_id) == document_id)
    ).first()
    if document is None:
        session.rollback()
        raise NotFound(f"document {document_id} not found")
    return document


class _Balance:
    """What has been applied to one document so far."""

    def __init__(self, *, document: Posting, postings: Iterable[CashPosting]) -> None:
        # Amounts come back at the ERP's six places; the currency's places read better.
        def money(value: Decimal) -> Decimal:
            return money_text(value, currency=document.currency)

        sign = -1 if document.invoice.get("document_type") == "credit_note" else 1
        self.total = money(sign * document.total)
        self.paid = self.refunded = self.written_off = self.credited = money(ZERO)
        for posting in postings:
            if posting.kind == "credit_application":
                # On the invoice it settles; on the credit note (its reference) it is spent.
                self.credited += money(posting.applied)
            elif posting.kind == "payment":
                self.paid += money(posting.applied)
            elif posting.kind == "refund":
                self.refunded += money(posting.applied)
            else:
                self.written_off += money(posting.applied)

    @property
    def open(self) -> Decimal:
        if self.total < 0:  # a credit note: what it applied is no longer owed to the customer
            return self.total - self.paid + self.refunded - self.written_off + self.credited
        return self.total - self.paid + self.refunded - self.written_off - self.credited


def _postings_of(*, session: Session, document_ids: Iterable[str]) -> dict[str, list[CashPosting]]:
    ids = list(document_ids)
    found: dict[str, list[CashPosting]] = {document_id: [] for document_id in ids}
    if not ids:
        return found
    query = select(CashPosting).where(
        col(CashPosting.document).in_(ids)
        | ((col(CashPosting.kind) == "credit_application") & col(CashPosting.reference).in_(ids))
    )
    for posting in session.exec(query.order_by(col(CashPosting.id))):
        if posting.document in found:
            found[posting.document].append(posting)
        if posting.kind == "credit_application" and posting.reference in found:
            found[posting.reference].append(posting)
    return found


def _problem(field: str, message: str) -> InvalidInput:
    return InvalidInput([(("body", field), message)])


def _check(request: CashPostingRequest, document: Posting, balance: _Balance) -> None:
    if request.currency != document.currency:
        raise _problem(
            "currency",
            f"{request.currency} differs from {document.erp_document_id}'s currency "
            f"{document.currency}; a payment is applied only in the document's currency",
        )
    places = minor_unit(request.currency)
    if request.amount != request.amount.quantize(Decimal(1).scaleb(-places)):
        raise _problem(
            "amount", f"{request.amount} has more places than {request.currency}'s {places}"
        )
    is_credit_note = document.invoice.get("document_type") == "credit_note"
    if request.kind in ("payment", "write_off", "credit_application") and is_credit_note:
        raise _problem(
            "document", f"{document.erp_document_id} is a credit note: nothing is owed on it"
        )
    if request.kind in ("write_off", "credit_application") and request.amount > balance.open:
        raise _problem(
            "amount",
            f"{request.amount} is more than the {balance.open} open on {document.erp_document_id}",
        )
    if request.kind == "refund":
        refundable = -balance.open if is_credit_note else balance.paid - balance.refunded
        if request.amount > refundable:
            raise _problem(
                "amount",
                f"{request.amount} is more than the {max(refundable, ZERO)} that may be refunded "
                f"on {document.erp_document_id}",
            )


def _check_credit_note(*, session: Session, request: CashPostingRequest, document: Posting) -> None:
    """A credit note applied to an invoice: the same customer's, in its currency, with that
    much still to give."""
    credit = session.exec(
        select(Posting).where(col(Posting.erp_document_id) == request.reference)
    ).first()
    if credit is None or credit.invoice.get("document_type") != "credit_note":
        raise _problem("reference", f"{request.reference or '(none)'} is not a posted credit note")
    if (credit.customer_id, credit.currency) != (document.customer_id, document.currency):
        raise _problem(
            "reference",
            f"{credit.erp_document_id} is {credit.customer_id}'s in {credit.currency}; "
            f"{document.erp_document_id} is {document.customer_id}'s in {document.currency}",
        )
    postings = _postings_of(session=session, document_ids=[credit.erp_document_id])
    left = -_Balance(document=credit, postings=postings[credit.erp_document_id]).open
    if request.amount > left:
        raise _problem(
            "amount", f"{request.amount} is more than the {left} {credit.erp_document_id} has left"
        )


def _journal(
    kind: str, *, amount: Decimal, applied: Decimal, to_credit: Decimal
) -> list[CashJournalEntry]:
    def entry(account: str, debit: Decimal, credit: Decimal, what: str) -> CashJournalEntry:
        return CashJournalEntry(account=account, debit=debit, credit=credit, description=what)

    if kind == "payment":
        entries = [entry(CASH, amount, ZERO, "Payment received")]
        if applied:
            entries.append(entry(RECEIVABLE, ZERO, applied, "Applied to the document"))
        if to_credit:
            entries.append(entry(CUSTOMER_CREDIT, ZERO, to_credit, "Overpayment kept as credit"))
        return entries
    if kind == "credit_application":
        return [
            entry(RECEIVABLE, amount, ZERO, "Credit note applied"),
            entry(RECEIVABLE, ZERO, amount, "Applied to the document"),
        ]
    if kind == "refund":
        return [
            entry(RECEIVABLE, amount, ZERO, "Refunded to the customer"),
            entry(CASH, ZERO, amount, "Refund paid out"),
        ]
    return [
        entry(BAD_DEBT, amount, ZERO, "Written off"),
        entry(RECEIVABLE, ZERO, amount, "Receivable written off"),
    ]


def post_cash(
    *, session: Session, request: CashPostingRequest, now: datetime
) -> tuple[CashPosting, bool]:
    """Post once per key: True when posted now; the stored posting when the content matches.

    Raises Conflict for the key posted with other content, NotFound for an unknown document,
    InvalidInput for a currency other than the document's or an amount it cannot take.
    """
    content_hash = fingerprint(request)
    document = _document(session=session, document_id=request.document)
    existing = get_cash_posting(session=session, posting_key=request.posting_key)
    if existing is not None:
        session.rollback()
        return _same_or_conflict(existing, content_hash), False
    postings = _postings_of(session=session, document_ids=[document.erp_document_id])
    balance = _Balance(document=document, postings=postings[document.erp_document_id])
    try:
        _check(request, document, balance)
        if request.kind == "credit_application":
            _check_credit_note(session=session, request=request, document=document)
    except InvalidInput:
        session.rollback()
        raise
    applied, to_credit = request.amount, ZERO
    if request.kind == "payment":
        applied = min(request.amount, max(balance.open, ZERO))
        to_credit = request.amount - applied
    journal = _journal(request.kind, amount=request.amount, applied=applied, to_credit=to_credit)
    sign = 1 if request.kind == "refund" else -1
    posting = CashPosting(
        posting_key=request.posting_key,
        cash_document_id=next_document_id(session=session, document_type=request.kind),
        kind=request.kind,
        document=document.erp_document_id,
        customer_id=document.customer_id,
        currency=request.currency,
        amount=request.amount,
        applied=applied,
        to_credit=to_credit,
        open_after=balance.open + sign * applied,
        value_date=request.value_date,
        reference=request.reference,
        description=request.description,
        journal=[entry.model_dump(mode="json") for entry in journal],
        content_hash=content_hash,
        posted_at=now.astimezone(UTC),
    )
    lines = journal_lines(journal, currency=request.currency)
    return commit_posting(
        session,
        posting,
        lambda posting_id: [CashJournalLine(cash_posting_id=posting_id, **line) for line in lines],
        stored=lambda: get_cash_posting(session=session, posting_key=request.posting_key),
        same_or_conflict=lambda stored: _same_or_conflict(stored, content_hash),
    )


def list_cash_postings(
    *, session: Session, document: str | None, customer_id: str | None, limit: int
) -> list[CashPosting]:
    query = select(CashPosting).order_by(col(CashPosting.id)).limit(limit)
    if document is not None:
        query = query.where(col(CashPosting.document) == document)
    if customer_id is not None:
        query = query.where(col(CashPosting.customer_id) == customer_id)
    return list(session.exec(query))


def cash_posting_public(posting: CashPosting) -> CashPostingPublic:
    def money(value: Decimal) -> Decimal:
        return money_text(value, currency=posting.currency)

    return CashPostingPublic(
        posting_key=posting.posting_key,
        cash_document_id=posting.cash_document_id,
        kind=posting.kind,
        document=posting.document,
        customer_id=posting.customer_id,
        amount=money(posting.amount),
        currency=posting.currency,
        applied=money(posting.applied),
        to_credit=money(posting.to_credit),
        open_after=money(posting.open_after),
        value_date=posting.value_date,
        reference=posting.reference,
        description=posting.description,
        journal=[
            entry.model_copy(update={"debit": money(entry.debit), "credit": money(entry.credit)})
            for entry in map(CashJournalEntry.model_validate, posting.journal)
        ],
        posted_at=posting.posted_at,
    )


def _optional_date(invoice: dict[str, Any], field: str) -> date | None:
    value = invoice.get(field)
    return date.fromisoformat(value) if isinstance(value, str) else None


def open_items(*, session: Session, customer_id: str, include_settled: bool) -> OpenItems:
    """The customer's documents with what is still open on each (oldest posted first), the
    open total per currency and the credit balance from overpayments."""
    documents = list(
        session.exec(
            select(Posting)
            .where(col(Posting.customer_id) == customer_id)
            .order_by(col(Posting.posted_at), col(Posting.id))
        )
    )
    cash = _postings_of(session=session, document_ids=(d.erp_document_id for d in documents))
    items: list[OpenItem] = []
    open_by_currency: dict[str, Decimal] = {}
    for document in documents:
        balance = _Balance(document=document, postings=cash[document.erp_document_id])
        if balance.open == 0 and not include_settled:
            continue
        open_by_currency[document.currency] = (
            open_by_currency.get(document.currency, ZERO) + balance.open
        )

        def money(value: Decimal, currency: str = document.currency) -> Decimal:
            return money_text(value, currency=currency)

        items.append(
            OpenItem(
                erp_document_id=document.erp_document_id,
                posting_key=document.posting_key,
                document_type=str(document.invoice.get("document_type", "invoice")),
                invoice_id=document.invoice_id,
                contract_id=document.contract_id,
                currency=document.currency,
                total=money(balance.total),
                paid=money(balance.paid),
                refunded=money(balance.refunded),
                written_off=money(balance.written_off),
                credited=money(balance.credited),
                open_amount=money(balance.open),
                period_start=document.period_start,
                period_end=document.period_end,
                issue_date=_optional_date(document.invoice, "issue_date"),
                due_date=_optional_date(document.invoice, "due_date"),
                posted_at=document.posted_at,
            )
        )
    credit = session.execute(
        sa.select(col(CashPosting.currency), sa.func.sum(col(CashPosting.to_credit)))
        .where(col(CashPosting.customer_id) == customer_id, col(CashPosting.to_credit) > ZERO)
        .group_by(col(CashPosting.currency))
        .order_by(col(CashPosting.currency))
    ).all()
    return OpenItems(
        customer_id=customer_id,
        items=items,
        open_by_currency={
            currency: money_text(amount, currency=currency)
            for currency, amount in sorted(open_by_currency.items())
        },
        credit_balance={
            currency: money_text(amount, currency=currency) for currency, amount in credit
        },
    )
