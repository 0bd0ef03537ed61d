"""Postings: exactly one per posting key, numbered without gaps, read back as stored."""

import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from systems.errors import Conflict, InvalidInput
from systems.models.erp import (
    AMOUNT_SCALE,
    CurrencyTotals,
    DocumentCounter,
    InvoiceHistoryItem,
    JournalEntry,
    JournalLine,
    JournalTotals,
    Posting,
    PostingPublic,
    PostingRequest,
)
from systems.models.erp_cash import CashJournalEntry, CashJournalLine, CashPosting
from systems.models.revenue import RevenueJournalLine, RevenueRecognition, RevenueScheduleLine
from systems.types import ScaledDecimal, money_text, plain

Stored = TypeVar("Stored", Posting, CashPosting, RevenueRecognition)

DOCUMENT_PREFIXES = {
    "invoice": "INV",
    "credit_note": "CN",
    "payment": "PAY",
    "refund": "RFD",
    "write_off": "WO",
    "credit_application": "CAP",
    "revenue": "REV",
}


def ensure_counters(*, engine: Engine) -> None:
    """Create the document counters once; a concurrent creator winning the race is fine."""
    for name in DOCUMENT_PREFIXES:
        with Session(engine) as session:
            if session.get(DocumentCounter, name) is not None:
                continue
            session.add(DocumentCounter(name=name, value=0))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()


def canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain(value)  # "12.50" and "12.5" are the same amount
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def fingerprint(request: BaseModel, *, exclude: set[str] | None = None) -> str:
    """SHA-256 of a posting request (an invoice's or cash's) with decimals normalised: equal
    content, equal fingerprint."""
    text = json.dumps(request.model_dump(exclude=exclude), default=canonical, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _same_or_conflict(posting: Posting, content_hash: str) -> Posting:
    if posting.content_hash != content_hash:
        raise Conflict(
            f"posting key {posting.posting_key} already posted with different content "
            f"(as {posting.erp_document_id})"
        )
    return posting


def next_document_id(*, session: Session, document_type: str) -> str:
    # The counter row stays locked until commit, and a rolled-back post gives its number back.
    number = session.execute(
        sa.update(DocumentCounter)
        .where(col(DocumentCounter.name) == document_type)
        .values(value=col(DocumentCounter.value) + 1)
        .returning(col(DocumentCounter.value))
    ).scalar_one()
    return f"{DOCUMENT_PREFIXES[document_type]}-{number:06d}"


def post_invoice(
    *, session: Session, request: PostingRequest, now: datetime
) -> tuple[Posting, bool]:
    """Post once per key: True when posted now; the stored posting when the content matches.

    Raises Conflict when the key was posted with different content. Two concurrent posts
    of one key are settled by the unique constraint on posting_key, not by the first check.
    """
    check_adds_up(request)
    # A document posted without a schedule hashes as it did before schedules existed.
    unscheduled = set() if request.revenue_schedule else {"revenue_schedule", "billed_month"}
    # The default entity hashes as postings did before entities.
    content_hash = fingerprint(
        request,
        exclude=unscheduled
        | (set() if request.entity else {"entity"})
        | {"exclusive_service_periods"},
    )
    existing = get_posting(session=session, posting_key=request.posting_key)
    if existing is not None:
        return _same_or_conflict(existing, content_hash), False
    invoice = request.invoice
    # Numbering locks the counter row (PostgreSQL) or takes the write lock (SQLite) until
    # commit: a concurrent posting that gets its number after this one reads it committed.
    document_id = next_document_id(session=session, document_type=invoice.document_type)
    if request.exclusive_service_periods and invoice.document_type == "invoice":
        _refuse_billed_elsewhere(session=session, request=request)
    posting = Posting(
        posting_key=request.posting_key,
        erp_document_id=document_id,
        invoice_id=invoice.invoice_id,
        contract_id=invoice.contract_id,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        total=invoice.total,
        invoice=invoice.model_dump(mode="json"),
        journal=[entry.model_dump(mode="json") for entry in request.journal],
        content_hash=content_hash,
        posted_at=now.astimezone(UTC),
    )
    lines = journal_lines(request.journal, currency=invoice.currency)

    def rows(posting_id: int) -> list[SQLModel]:
        journal: list[SQLModel] = [JournalLine(posting_id=posting_id, **line) for line in lines]
        return journal + schedule_lines(request, posting_id=posting_id)

    return commit_posting(
        session,
        posting,
        rows,
        stored=lambda: get_posting(session=session, posting_key=request.posting_key),
        same_or_conflict=lambda stored: _same_or_conflict(stored, content_hash),
    )


def _refuse_billed_elsewhere(*, session: Session, request: PostingRequest) -> None:
    """Conflict, with nothing posted, when another invoice of the contract bills a line of
    the same charge and service period (credit notes are not read: a fee credited and
    billed again is posted without this check)."""
    wanted = {
        (line.charge_id, line.period_start, line.period_end)
        for line in request.invoice.lines
        if line.period_start is not None
    }
    query = (
        select(Posting)
        .where(
            col(Posting.contract_id) == request.invoice.contract_id,
            col(Posting.posting_key) != request.posting_key,
        )
        .order_by(col(Posting.id))
    )
    for other in session.exec(query):
        if other.invoice.get("document_type", "invoice") != "invoice":
            continue
        for line in other.invoice.get("lines", []):
            start, end = line.get("period_start"), line.get("period_end")
            key = (
                line.get("charge_id"),
                date.fromisoformat(start) if start else None,
                date.fromisoformat(end) if end else None,
            )
            if key in wanted:
                session.rollback()  # gives the document number back
                raise Conflict(
                    f"the {key[0]} fee for {key[1]} to {key[2]} is already billed by "
                    f"{other.erp_document_id} (posting key {other.posting_key}): nothing posted"
                )


def check_adds_up(request: PostingRequest) -> None:
    """Refuse, as an ERP does, an invoice whose parts do not make its totals: the lines make
    the subtotal, the tax lines the tax total, and the journal moves exactly the total."""
    invoice = request.invoice
    problems: list[tuple[tuple[str | int, ...], str]] = []
    lines = sum((line.amount for line in invoice.lines), Decimal(0))
    if lines != invoice.subtotal:
        problems.append(
            (
                ("body", "invoice", "subtotal"),
                f"{invoice.subtotal} is not the sum of the lines' amounts ({lines})",
            )
        )
    taxes = sum((tax.tax_amount for tax in invoice.tax_lines), Decimal(0))
    if taxes != invoice.tax_total:
        problems.append(
            (
                ("body", "invoice", "tax_total"),
                f"{invoice.tax_total} is not the sum of the tax lines' amounts ({taxes})",
            )
        )
    debits = sum((entry.debit for entry in request.journal), Decimal(0))
    if debits != invoice.total:
        problems.append(
            (
                ("body", "journal"),
                f"debits and credits of {debits} each; the invoice total is {invoice.total}",
            )
        )
    if problems:
        raise InvalidInput(problems)


def schedule_lines(request: PostingRequest, *, posting_id: int) -> list[SQLModel]:
    """The document's revenue schedule as rows the monthly recognition releases."""
    if request.billed_month is None:  # the request's validator requires it with a schedule
        return []
    return [
        RevenueScheduleLine(
            posting_id=posting_id,
            posting_key=request.posting_key,
            currency=request.invoice.currency,
            billed_month=request.billed_month,
            entity=request.entity,
            **entry.model_dump(),
        )
        for entry in request.revenue_schedule
    ]


def journal_lines(
    entries: Iterable[JournalEntry | CashJournalEntry], *, currency: str
) -> list[dict[str, Any]]:
    """A posting's journal entries as the columns of its journal lines, numbered from 1."""
    return [
        {
            "line_no": number,
            "account": entry.account,
            "currency": currency,
            "debit": entry.debit,
            "credit": entry.credit,
            "description": entry.description,
        }
        for number, entry in enumerate(entries, start=1)
    ]


def commit_posting(
    session: Session,
    posting: Stored,
    lines: Callable[[int], Iterable[SQLModel]],
    *,
    stored: Callable[[], Stored | None],
    same_or_conflict: Callable[[Stored], Stored],
) -> tuple[Stored, bool]:
    """Commit the posting and, once it has its id, its journal lines: True when posted now.

    A concurrent post of the same key that committed first wins on the unique posting_key;
    its posting is returned then (False), or Conflict raised when the content differs.
    """
    try:
        session.add(posting)
        session.flush()
        assert posting.id is not None
        session.add_all(lines(posting.id))
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = stored()
        if existing is None:
            raise
        return same_or_conflict(existing), False
    session.refresh(posting)
    return posting, True


def get_posting(*, session: Session, posting_key: str) -> Posting | None:
    return session.exec(select(Posting).where(col(Posting.posting_key) == posting_key)).first()


def list_postings(
    *,
    session: Session,
    contract_id: str | None = None,
    customer_id: str | None = None,
    erp_document_id: str | None = None,
    limit: int = 100,
) -> list[Posting]:
    query = select(Posting).order_by(col(Posting.id)).limit(limit)
    if erp_document_id is not None:
        query = query.where(col(Posting.erp_document_id) == erp_document_id)
    if contract_id is not None:
        query = query.where(col(Posting.contract_id) == contract_id)
    if customer_id is not None:
        query = query.where(col(Posting.customer_id) == customer_id)
    return list(session.exec(query))


def posting_public(posting: Posting) -> PostingPublic:
    return PostingPublic(
        posting_key=posting.posting_key,
        erp_document_id=posting.erp_document_id,
        invoice=posting.invoice,
        journal=posting.journal,
        posted_at=posting.posted_at,
    )


def invoice_history(
    *, session: Session, customer_id: str, limit: int = 12, before: date | None = None
) -> list[InvoiceHistoryItem]:
    """The customer's posted invoices, latest period first (ties: latest posted first)."""
    query = (
        select(Posting)
        .where(col(Posting.customer_id) == customer_id)
        .order_by(col(Posting.period_start).desc(), col(Posting.id).desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(col(Posting.period_start) < before)
    return [
        InvoiceHistoryItem(
            posting_key=posting.posting_key,
            erp_document_id=posting.erp_document_id,
            invoice_id=posting.invoice_id,
            period_start=posting.period_start,
            period_end=posting.period_end,
            total=money_text(posting.total, currency=posting.currency),
            currency=posting.currency,
            posted_at=posting.posted_at,
        )
        for posting in session.exec(query)
    ]


def journal_totals(*, session: Session) -> JournalTotals:
    """Debits and credits over every journal line, invoices', cash's and revenue
    recognitions', overall and per currency; `postings` counts every kind of posting."""
    lines = sa.union_all(
        sa.select(
            col(JournalLine.currency).label("currency"),
            col(JournalLine.debit).label("debit"),
            col(JournalLine.credit).label("credit"),
            sa.literal("d").label("kind"),
            col(JournalLine.posting_id).label("posting"),
        ),
        sa.select(
            col(CashJournalLine.currency),
            col(CashJournalLine.debit),
            col(CashJournalLine.credit),
            sa.literal("c"),
            col(CashJournalLine.cash_posting_id),
        ),
        sa.select(
            col(RevenueJournalLine.currency),
            col(RevenueJournalLine.debit),
            col(RevenueJournalLine.credit),
            sa.literal("r"),
            col(RevenueJournalLine.recognition_id),
        ),
    ).subquery()
    amount = ScaledDecimal(AMOUNT_SCALE)
    rows = session.execute(
        sa.select(
            lines.c.currency,
            sa.type_coerce(sa.func.sum(lines.c.debit), amount),
            sa.type_coerce(sa.func.sum(lines.c.credit), amount),
            sa.func.count(sa.distinct(lines.c.kind + ":" + sa.cast(lines.c.posting, sa.String))),
        )
        .group_by(lines.c.currency)
        .order_by(lines.c.currency)
    ).all()
    by_currency = {
        currency: CurrencyTotals(
            debits=money_text(debits, currency=currency),
            credits=money_text(credits, currency=currency),
            postings=postings,
        )
        for currency, debits, credits, postings in rows
    }
    debits = sum((totals.debits for totals in by_currency.values()), Decimal(0))
    credits = sum((totals.credits for totals in by_currency.values()), Decimal(0))
    return JournalTotals(
        debits=money_text(debits, currency=None),
        credits=money_text(credits, currency=None),
        postings=sum(totals.postings for totals in by_currency.values()),
        by_currency=by_currency,
    )
