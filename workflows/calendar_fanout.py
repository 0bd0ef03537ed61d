"""CalendarFanOut: one fire of a billing calendar's schedule, one page of contracts at a time.

Each page is read (`list_due`), its due periods' runs started (`start_runs`, throttled), and
the fan-out continues as new with the next page's cursor and the totals so far, so its
history holds one page however many contracts there are. After a crash it resumes where its
history stopped; the runs' business-key ids make a repeated start harmless.
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.audit import AuditActivities
    from activities.calendar import CalendarActivities
    from schemas.audit import SkippedContracts
    from schemas.calendar import (
        DuePage,
        FanOutInput,
        FanOutResult,
        ListDueInput,
        StartRunsInput,
        StartRunsResult,
    )

SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by the schedule on each run it starts: the nominal fire time, also for a catch-up."""
START_RUNS = "start_runs"
"""`workers.calendar_starts.RunStarter.start_runs`, by name: it holds the worker's client."""
SKIPS_RECORDED = "calendar-skips-recorded"
"""Patch id: each page's skipped contracts go to the audit trail (`record_skipped`), so
`q2c report` lists them with their reason; fires begun before it kept them in their result."""
_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn(name="CalendarFanOut")
class CalendarFanOutWorkflow:
    @workflow.run
    async def run(self, input: FanOutInput) -> FanOutResult:
        fired_at = input.fired_at or self._nominal_time()
        page: DuePage = await workflow.execute_activity_method(
            CalendarActivities.list_due,
            ListDueInput(
                calendar=input.calendar,
                fired_at=fired_at,
                after=input.after,
                page_size=input.page_size,
            ),
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=_RETRY,
        )
        if page.skipped and workflow.patched(SKIPS_RECORDED):
            await workflow.execute_activity_method(
                AuditActivities.record_skipped,
                SkippedContracts(
                    day=page.day, calendar=input.calendar.schedule_id, skipped=page.skipped
                ),
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=_RETRY,
            )
        started = StartRunsResult()
        if page.due:
            started = await workflow.execute_activity(
                START_RUNS,
                StartRunsInput(
                    due=page.due,
                    fired_at=fired_at,
                    task_queue=input.task_queue,
                    starts_per_second=input.starts_per_second,
                    collect=input.collect,
                ),
                # The page at the throttled rate, with room for a loaded server; a stopped
                # worker is noticed by the heartbeat, not this.
                start_to_close_timeout=timedelta(
                    seconds=600 + 4 * len(page.due) / input.starts_per_second
                ),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=_RETRY,
                result_type=StartRunsResult,
            )
        totals = input.model_copy(
            update={
                "fired_at": fired_at,
                "after": page.next_after or "",
                "pages": input.pages + 1,
                "started": input.started + started.started,
                "duplicates": input.duplicates + started.duplicates,
                "skipped": [*input.skipped, *page.skipped],
            }
        )
        if page.next_after is not None:
            workflow.continue_as_new(totals)
        return FanOutResult(
            day=page.day,
            pages=totals.pages,
            started=totals.started,
            duplicates=totals.duplicates,
            skipped=totals.skipped,
        )

    def _nominal_time(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return scheduled if scheduled is not None else workflow.now()
