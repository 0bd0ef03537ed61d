"""Revenue in the ERP: closed months, the schedule lines still deferred, the monthly
recognition entries (one per posting key) and the deferred balance against the schedules."""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from systems.crud.erp import commit_posting, fingerprint, journal_lines, next_document_id
from systems.errors import Conflict, InvalidInput
from systems.models.erp import JournalLine
from systems.models.revenue import (
    ClosedPeriod,
    ClosedPeriodPublic,
    DeferredBalance,
    RecognitionPublic,
    RecognitionRequest,
    RevenueJournalLine,
    RevenueMovement,
    RevenueRecognition,
    RevenueScheduleLine,
    ScheduleLinePublic,
)
from systems.types import money_text


class PeriodClosed(Conflict):
    """The accounting month is closed: nothing more is booked in it (409 `period_closed`)."""

    code = "period_closed"

    def __init__(self, month: str, *, next_open: str) -> None:
        super().__init__(f"period {month} is closed; the next open month is {next_open}")
        self.month = month
        self.next_open = next_open


def _next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def close_period(*, session: Session, month: str, now: datetime) -> ClosedPeriodPublic:
    """Close `month`; closing it again changes nothing."""
    closed = session.get(ClosedPeriod, month)
    if closed is None:
        closed = ClosedPeriod(month=month, closed_at=now.astimezone(UTC))
        session.add(closed)
        session.commit()
        session.refresh(closed)
    return ClosedPeriodPublic(month=closed.month, closed_at=closed.closed_at)


def closed_periods(*, session: Session) -> list[ClosedPeriodPublic]:
    rows = session.exec(select(ClosedPeriod).order_by(col(ClosedPeriod.month)))
    return [ClosedPeriodPublic(month=r.month, closed_at=r.closed_at) for r in rows]


def next_open_month(*, session: Session, month: str) -> str:
    closed = {p.month for p in closed_periods(session=session)}
    while month in closed:
        month = _next_month(month)
    return month


def _public_line(line: RevenueScheduleLine, keys: dict[int, str]) -> ScheduleLinePublic:
    assert line.id is not None
    return ScheduleLinePublic(
        id=line.id,
        posting_key=line.posting_key,
        line_id=line.line_id,
        month=line.month,
        amount=money_text(line.amount, currency=line.currency),
        product_line=line.product_line,
        entity=line.entity,
        deferred=line.deferred,
        currency=line.currency,
        billed_month=line.billed_month,
        recognition_key=keys.get(line.recognition_id) if line.recognition_id else None,
    )


def schedule_lines(
    *,
    session: Session,
    through: str | None = None,
    currency: str | None = None,
    due: bool = False,
    posting_key: str | None = None,
    entity: str | None = None,
) -> list[ScheduleLinePublic]:
    """Schedule lines in month order; `due`: only deferred ones not yet released."""
    query = select(RevenueScheduleLine).order_by(
        col(RevenueScheduleLine.month), col(RevenueScheduleLine.id)
    )
    if through is not None:
        query = query.where(col(RevenueScheduleLine.month) <= through)
    if currency is not None:
        query = query.where(col(RevenueScheduleLine.currency) == currency)
    if posting_key is not None:
        query = query.where(col(RevenueScheduleLine.posting_key) == posting_key)
    if entity is not None:
        query = query.where(col(RevenueScheduleLine.entity) == entity)
    if due:
        query = query.where(
            col(RevenueScheduleLine.deferred), col(RevenueScheduleLine.recognition_id).is_(None)
        )
    lines = list(session.exec(query))
    ids = {line.recognition_id for line in lines if line.recognition_id is not None}
    keys = {
        r.id: r.posting_key
        for r in session.exec(select(RevenueRecognition).where(col(RevenueRecognition.id).in_(ids)))
        if r.id is not None
    }
    return [_public_line(line, keys) for line in lines]


def _released(session: Session, request: RecognitionRequest) -> list[RevenueScheduleLine]:
    wanted = request.schedule_line_ids
    found = {
        line.id: line
        for line in session.exec(
            select(RevenueScheduleLine).where(col(RevenueScheduleLine.id).in_(wanted))
        )
    }
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, line_id in enumerate(wanted):
        line = found.get(line_id)
        where: tuple[str | int, ...] = ("schedule_line_ids", index)
        if line is None:
            problems.append((where, f"no schedule line {line_id}"))
        elif line.currency != request.currency:
            problems.append(
                (
                    where,
                    f"currency mismatch: line {line_id} is {line.currency}, "
                    f"the entry {request.currency}",
                )
            )
        elif line.entity != request.entity:
            problems.append(
                (
                    where,
                    f"entity mismatch: line {line_id} is {line.entity or 'the default entity'}'s, "
                    f"the entry {request.entity or 'the default entity'}'s",
                )
            )
        elif not line.deferred:
            problems.append((where, f"line {line_id} was recognised with its document"))
        elif line.month > request.month:
            problems.append(
                (where, f"line {line_id} is revenue of {line.month}, after {request.month}")
            )
    if len(set(wanted)) != len(wanted):
        problems.append((("schedule_line_ids",), "a line is named twice"))
    if problems:
        raise InvalidInput(problems)
    return [found[line_id] for line_id in wanted]


def post_recognition(
    *, session: Session, request: RecognitionRequest, now: datetime
) -> tuple[RevenueRecognition, bool]:
    """Book the entry once per posting key: True when booked now.

    A key already booked for the same month and currency gives the stored entry back (a
    retry may see other due lines: what the first attempt released stays released); for
    another month or currency it is a Conflict. A closed `period` is PeriodClosed.
    """
    # The default entity hashes as entries did before entities.
    unhashed = {"period", "reason", "schedule_line_ids", "journal"}
    content_hash = fingerprint(
        request, exclude=unhashed | (set() if request.entity else {"entity"})
    )

    def same_or_conflict(stored: RevenueRecognition) -> RevenueRecognition:
        if stored.content_hash != content_hash:
            raise Conflict(
                f"posting key {stored.posting_key} already booked for {stored.month} "
                f"{stored.currency} (as {stored.erp_document_id})"
            )
        return stored

    existing = get_recognition(session=session, posting_key=request.posting_key)
    if existing is not None:
        return same_or_conflict(existing), False
    if session.get(ClosedPeriod, request.period) is not None:
        raise PeriodClosed(
            request.period, next_open=next_open_month(session=session, month=request.period)
        )
    released = _released(session, request)
    amount = sum((line.amount for line in released), Decimal(0))
    recognition = RevenueRecognition(
        posting_key=request.posting_key,
        erp_document_id=next_document_id(session=session, document_type="revenue"),
        month=request.month,
        period=request.period,
        currency=request.currency,
        entity=request.entity,
        amount=amount,
        reason=request.reason,
        journal=[entry.model_dump(mode="json") for entry in request.journal],
        content_hash=content_hash,
        posted_at=now.astimezone(UTC),
    )
    rows = journal_lines(request.journal, currency=request.currency)

    def book(recognition_id: int) -> list[RevenueJournalLine]:
        # Only lines nobody released meanwhile: a concurrent entry that took one loses here.
        taken = session.execute(
            sa.update(RevenueScheduleLine)
            .where(
                col(RevenueScheduleLine.id).in_(request.schedule_line_ids),
                col(RevenueScheduleLine.recognition_id).is_(None),
            )
            .values(recognition_id=recognition_id)
        )
        if taken.rowcount != len(request.schedule_line_ids):  # type: ignore[attr-defined]
            session.rollback()
            raise Conflict("some of these schedule lines were released by another entry")
        return [RevenueJournalLine(recognition_id=recognition_id, **row) for row in rows]

    return commit_posting(
        session,
        recognition,
        book,
        stored=lambda: get_recognition(session=session, posting_key=request.posting_key),
        same_or_conflict=same_or_conflict,
    )


def get_recognition(*, session: Session, posting_key: str) -> RevenueRecognition | None:
    return session.exec(
        select(RevenueRecognition).where(col(RevenueRecognition.posting_key) == posting_key)
    ).first()


def list_recognitions(*, session: Session, month: str | None = None) -> list[RevenueRecognition]:
    query = select(RevenueRecognition).order_by(col(RevenueRecognition.id))
    if month is not None:
        query = query.where(col(RevenueRecognition.month) == month)
    return list(session.exec(query))


def recognition_public(recognition: RevenueRecognition) -> RecognitionPublic:
    return RecognitionPublic(
        posting_key=recognition.posting_key,
        erp_document_id=recognition.erp_document_id,
        month=recognition.month,
        period=recognition.period,
        currency=recognition.currency,
        entity=recognition.entity,
        amount=money_text(recognition.amount, currency=recognition.currency),
        reason=recognition.reason,
        journal=recognition.journal,
        posted_at=recognition.posted_at,
    )


def deferred_balance(*, session: Session, currency: str, account: str) -> DeferredBalance:
    """The account's balance (credits less debits) over documents' and recognitions' journal
    lines, beside the deferred schedule lines not yet released: equal when reconciled."""
    ledger = Decimal(0)
    for table in (JournalLine, RevenueJournalLine):
        for debit, credit in session.execute(
            sa.select(col(table.debit), col(table.credit)).where(
                col(table.account) == account, col(table.currency) == currency
            )
        ):
            ledger += credit - debit
    scheduled = sum(
        (
            line.amount
            for line in session.exec(
                select(RevenueScheduleLine).where(
                    col(RevenueScheduleLine.currency) == currency,
                    col(RevenueScheduleLine.deferred),
                    col(RevenueScheduleLine.recognition_id).is_(None),
                )
            )
        ),
        Decimal(0),
    )
    return DeferredBalance(
        currency=currency,
        account=account,
        ledger=money_text(ledger, currency=currency),
        scheduled=money_text(scheduled, currency=currency),
    )


def movements(*, session: Session) -> list[RevenueMovement]:
    """Per accounting month and currency: deferred by documents, released by recognitions."""
    billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    recognised: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in session.exec(select(RevenueScheduleLine).where(col(RevenueScheduleLine.deferred))):
        billed[(line.billed_month, line.currency)] += line.amount
    for entry in session.exec(select(RevenueRecognition)):
        recognised[(entry.period, entry.currency)] += entry.amount
    return [
        RevenueMovement(
            month=month,
            currency=currency,
            billed=money_text(billed[(month, currency)], currency=currency),
            recognised=money_text(recognised[(month, currency)], currency=currency),
        )
        for month, currency in sorted(set(billed) | set(recognised))
    ]
