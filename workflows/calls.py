"""How a run calls activities, records a handoff, and stops for a person."""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.audit import AuditActivities
    from schemas.audit import HandoffInput
    from workflows.run_view import RunView

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=60),
)
"""Transient failures retry until the system is back; permanent ones are non-retryable."""
CALL_TIMEOUT = timedelta(seconds=30)
HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""Activities heartbeat while they call a system: a killed worker's call is retried in 10 s."""


class NeedsAttention(Exception):
    """Ends the run in the needs-attention state: a person must fix something. `step` is
    where the problem showed (an activity type or a step), so the audit trail can name the
    system it came from."""

    def __init__(self, code: str, reason: str, *, step: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.step = step


def stop_if_permanent(cause: BaseException | None, *, step: str) -> None:
    """A permanent failure stops the run for a person; anything else fails the task."""
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        raise NeedsAttention(cause.type or "activity_failed", cause.message, step=step) from None


async def call(view: RunView, activity: Any, arg: Any) -> Any:
    """An activity on the task queue, for a call to a system of record: the pending search
    attributes go up first (see `RunView.before_call`); a permanent failure stops the run
    for a person."""
    view.before_call()
    try:
        return await workflow.execute_activity_method(
            activity,
            arg,
            start_to_close_timeout=CALL_TIMEOUT,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
        )
    except ActivityError as error:
        stop_if_permanent(error.cause, step=error.activity_type or activity.__name__)
        raise


async def record(view: RunView, handoff: HandoffInput) -> None:
    """A handoff no activity sees (a decision, the run's outcome) goes to the audit trail."""
    view.flush()
    await workflow.execute_activity_method(
        AuditActivities.record_handoff,
        handoff,
        start_to_close_timeout=CALL_TIMEOUT,
        retry_policy=RETRY,
    )
