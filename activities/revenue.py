"""The monthly recognition run's steps: which currencies have revenue due, one recognition
entry per month and currency (booked once under `revenue:<YYYY-MM>:<CUR>`), and the
deferred-revenue account reconciled against the schedules still to recognise."""

from datetime import date

import httpx
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from billing.revenue import DEFERRED_REVENUE, recognition_journal
from billing.revenue.methods import add_months, month_before
from schemas.errors import ReasonCode
from schemas.journal import JournalEntry
from schemas.revenue import (
    DueBooks,
    DueCurrencies,
    DueInput,
    MonthBeforeInput,
    PostedScheduleEntry,
    PostRecognitionInput,
    RecognitionPosted,
    ReconcileRevenueInput,
    RevenueReconciliation,
)

_MONTHS_AHEAD = 36
"""How far a closed month's entry may move to find an open one before it gives up."""


def recognition_key(month: str, currency: str, entity: str = "") -> str:
    """`revenue:<YYYY-MM>:<CUR>` for the default entity, `…:<ENTITY>` for another."""
    return f"revenue:{month}:{currency}" + (f":{entity}" if entity else "")


def _next_month(month: str) -> str:
    later = add_months(date(int(month[:4]), int(month[5:]), 1), 1)
    return f"{later.year:04d}-{later.month:02d}"


class RevenueActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _due(
        self, month: str, currency: str | None = None, entity: str | None = None
    ) -> list[dict[str, object]]:
        params = {"through": month, "due": "true"} | ({"currency": currency} if currency else {})
        if entity is not None:
            params["entity"] = entity
        response = await self._client.get("/erp/revenue/schedule-lines", params=params)
        raise_for_status(response, system="erp")
        lines: list[dict[str, object]] = response.json()
        return lines

    @activity.defn
    async def month_before(self, input: MonthBeforeInput) -> DueInput:
        """The month a run fired at `instant` recognises: the one before, in the seller's
        time zone."""
        return DueInput(month=month_before(input.instant, input.time_zone))

    @activity.defn
    async def due_currencies(self, input: DueInput) -> DueCurrencies:
        """The currencies with deferred revenue of `month` or earlier not yet recognised, and
        per entity: each entity's books take an entry of their own."""
        async with heartbeating():
            lines = await self._due(input.month)
        books = sorted({(str(line.get("entity", "")), str(line["currency"])) for line in lines})
        return DueCurrencies(
            currencies=sorted({currency for _, currency in books}),
            books=[DueBooks(entity=entity, currency=currency) for entity, currency in books],
        )

    @activity.defn
    async def post_recognition(self, input: PostRecognitionInput) -> RecognitionPosted:
        """Book the month's entry for one currency, once: an entry already booked under the
        key is returned as it is. A closed month moves the entry to the next open one,
        with the reason recorded on it."""
        key = recognition_key(input.month, input.currency, input.entity)
        async with heartbeating():
            booked = await self._client.get(f"/erp/revenue/recognitions/{key}")
            if booked.status_code != 404:
                raise_for_status(booked, system="erp")
                return _posted(booked.json(), already=True)
            lines = await self._due(input.month, input.currency, input.entity)
            if not lines:
                return RecognitionPosted(
                    posting_key=key,
                    entity=input.entity,
                    erp_document_id="",
                    currency=input.currency,
                    month=input.month,
                    period=input.month,
                    amount=0,
                    reason="nothing due",
                )
            entries = [PostedScheduleEntry.model_validate(line) for line in lines]
            journal = recognition_journal(entries) or _zero_entry()
            period, reason = input.month, ""
            for _ in range(_MONTHS_AHEAD):
                body = {
                    "posting_key": key,
                    "month": input.month,
                    "period": period,
                    "currency": input.currency,
                    "schedule_line_ids": [line["id"] for line in lines],
                    "journal": [entry.model_dump(mode="json") for entry in journal],
                    "reason": reason,
                } | ({"entity": input.entity} if input.entity else {})
                response = await self._client.post("/erp/revenue/recognitions", json=body)
                answer = _json(response)
                if response.status_code == 409 and answer.get("code") == "period_closed":
                    closed, period = period, str(answer.get("next_open") or _next_month(period))
                    reason = f"{closed} is closed in the ERP: booked in {period}"
                    continue
                raise_for_status(response, system="erp")
                return _posted(answer, already=response.status_code == 200)
        raise permanent(
            ReasonCode.POSTING_CONFLICT,
            f"erp: no open month within {_MONTHS_AHEAD} months of {input.month} for {key}",
        )

    @activity.defn
    async def reconcile_revenue(self, input: ReconcileRevenueInput) -> RevenueReconciliation:
        """The deferred-revenue account's balance beside the schedules' deferred remainder."""
        async with heartbeating():
            response = await self._client.get(
                "/erp/revenue/deferred-balance",
                params={"currency": input.currency, "account": DEFERRED_REVENUE},
            )
        raise_for_status(response, system="erp")
        answer = response.json()
        return RevenueReconciliation(
            currency=input.currency,
            ledger_deferred=answer["ledger"],
            scheduled_deferred=answer["scheduled"],
        )


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _zero_entry() -> list[JournalEntry]:
    # Lines that net to nothing (a credit note against its invoice) are still released.
    return [JournalEntry(account=DEFERRED_REVENUE, debit=0, credit=0, description="Nothing net")]


def _posted(answer: dict[str, object], *, already: bool) -> RecognitionPosted:
    return RecognitionPosted.model_validate(
        {
            key: answer[key]
            for key in ("posting_key", "erp_document_id", "currency", "month", "period", "amount")
        }
        | {
            "reason": answer.get("reason", ""),
            "entity": answer.get("entity", ""),
            "already_posted": already,
        }
    )
