"""RevenueRecognition: the monthly run that releases deferred revenue to revenue.

A Temporal Schedule starts it on the 1st of each month in the seller's time zone; it
recognises the month before. Each currency's entry is booked under
`revenue:<YYYY-MM>:<CUR>`, so a run killed half-way and run again books each entry once.
It ends by reconciling the deferred-revenue account against the schedules; a difference
fails the run, with what differs, for a person to look at.
"""

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.revenue import RevenueActivities
    from schemas.errors import ReasonCode
    from schemas.revenue import (
        DueCurrencies,
        DueInput,
        MonthBeforeInput,
        PostRecognitionInput,
        RecognitionRunInput,
        RecognitionRunResult,
        ReconcileRevenueInput,
    )
    from workflows.calls import CALL_TIMEOUT, HEARTBEAT_TIMEOUT, RETRY

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by a Schedule on the runs it starts: the instant it fired, however late it ran."""


@workflow.defn(name="RevenueRecognition")
class RevenueRecognitionWorkflow:
    @workflow.run
    async def run(self, input: RecognitionRunInput) -> RecognitionRunResult:
        fired = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        month = input.month
        if month is None:
            # Zones are data the workflow sandbox keeps from its code: an activity reads them.
            fired_in: DueInput = await self._step(
                RevenueActivities.month_before,
                MonthBeforeInput(instant=fired or workflow.now(), time_zone=input.time_zone),
            )
            month = fired_in.month
        result = RecognitionRunResult(month=month)
        due: DueCurrencies = await self._step(
            RevenueActivities.due_currencies, DueInput(month=month)
        )
        # One entry per entity and currency. Runs recorded before entities have currencies
        # only (the default entity's): the same steps as they took.
        for books in due.by_books():
            result.postings.append(
                await self._step(
                    RevenueActivities.post_recognition,
                    PostRecognitionInput(month=month, currency=books.currency, entity=books.entity),
                )
            )
        for currency in due.currencies:
            result.reconciliations.append(
                await self._step(
                    RevenueActivities.reconcile_revenue, ReconcileRevenueInput(currency=currency)
                )
            )
        differences = [r for r in result.reconciliations if not r.matched]
        if differences:
            raise ApplicationError(
                "deferred revenue differs from the schedules: "
                + "; ".join(
                    f"{r.currency}: ledger {r.ledger_deferred}, schedules {r.scheduled_deferred}"
                    for r in differences
                ),
                result.model_dump(mode="json"),
                type=ReasonCode.RECONCILE_MISMATCH,
                non_retryable=True,
            )
        return result

    async def _step(self, activity: Any, arg: Any) -> Any:
        return await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=CALL_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
        )
