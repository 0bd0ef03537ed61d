"""A worker interceptor that writes each activity execution to the audit trail."""

import logging
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.audit import HandoffRecorder
from workers.audit.group_commit import GroupCommit
from workers.audit.handoffs import Execution, on_failure, on_success

log = logging.getLogger("q2c.audit")

UNAUDITED = frozenset({"record_handoff", "keep_whole_input"})
"""Activities that write their own handoff."""

AUDITED_WORKFLOWS = frozenset({"QuoteToCash"})
"""The audit trail is the billing runs' handoffs: the report counts each workflow in it as a
run, so the calendar's fan-out and the monthly revenue recognition (whose entries the ERP
keeps under their own posting keys) stay out of it."""

AUDIT_UNAVAILABLE = "audit_unavailable"


def _last_attempt(info: activity.Info) -> bool:
    """A retryable failure on the policy's last attempt is final."""
    policy = info.retry_policy
    return policy is not None and 0 < policy.maximum_attempts <= info.attempt


class AuditInterceptor(Interceptor):
    def __init__(self, *, recorder: HandoffRecorder) -> None:
        self._commits = GroupCommit(recorder)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AuditInbound(next, self._commits)


class _AuditInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, commits: GroupCommit) -> None:
        super().__init__(next)
        self._commits = commits

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        audited = info.workflow_type in AUDITED_WORKFLOWS and bool(info.workflow_id)
        if info.activity_type in UNAUDITED or not audited:
            return await super().execute_activity(input)
        started = datetime.now(UTC)

        def execution() -> Execution:
            return Execution(
                workflow_id=info.workflow_id or "",
                run_id=info.workflow_run_id or "",
                activity_id=info.activity_id,
                step=info.activity_type,
                attempt=info.attempt,
                scheduled_at=info.scheduled_time,
                started_at=started,
                finished_at=datetime.now(UTC),
                last_attempt=_last_attempt(info),
            )

        try:
            result = await super().execute_activity(input)
        except BaseException as error:
            try:
                await self._commits.record(on_failure(execution(), error))
            except Exception:  # the activity's own failure is what Temporal must see
                log.exception("audit write failed for %s", info.activity_type)
            raise
        try:
            await self._commits.record(on_success(execution(), input.args, result))
        except Exception as error:
            # Retry the activity rather than lose the handoff; the activities are idempotent.
            raise ApplicationError(
                f"audit write failed: {error}", type=AUDIT_UNAVAILABLE
            ) from error
        return result
