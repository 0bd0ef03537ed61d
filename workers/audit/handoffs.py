"""What one activity execution tells the audit trail: its own row, and the run's handoffs
that can be read off its input or result (event received, approval requested, outcome)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from temporalio.exceptions import ApplicationError, CancelledError

from schemas.audit import Handoff, Outcome, Step
from schemas.errors import ReasonCode
from schemas.steps import (
    NotifyInput,
    PostInvoiceInput,
    ReconcileResult,
    RouteDecision,
    TaxedInvoice,
    ValidatedCustomer,
)

SYSTEM_OF_STEP = {
    "validate_customer": "crm",
    "fetch_usage": "usage",
    "draft_invoice": "billing",
    "compute_tax": "tax",
    "route": "billing",
    "post_invoice": "erp",
    "reconcile": "erp",
    "notify": "webhook",
}
"""Which system each activity talks to; an unknown activity is attributed to q2c itself."""

FIRST_STEP = "validate_customer"


@dataclass(frozen=True, kw_only=True)
class Execution:
    workflow_id: str
    run_id: str
    activity_id: str
    step: str
    attempt: int
    scheduled_at: datetime
    started_at: datetime
    finished_at: datetime
    last_attempt: bool = False

    @property
    def system(self) -> str:
        return SYSTEM_OF_STEP.get(self.step, "q2c")

    def key(self, suffix: str) -> str:
        return f"{self.workflow_id}/{self.run_id}/{suffix}"

    def handoff(
        self, *, key: str, outcome: Outcome, step: str | None = None, **extra: str
    ) -> Handoff:
        return Handoff(
            key=self.key(key),
            workflow_id=self.workflow_id,
            run_id=self.run_id,
            step=step or self.step,
            system=self.system,
            outcome=outcome,
            attempt=self.attempt,
            started_at=self.started_at,
            finished_at=self.finished_at,
            **extra,
        )


def on_success(execution: Execution, args: Sequence[object], result: object) -> list[Handoff]:
    # One row per activity whatever attempt succeeded: a rerun after a lost completion
    # finds the key taken.
    done = f"{execution.activity_id}/done"
    extra: dict[str, str] = {}
    handoffs: list[Handoff] = []
    if isinstance(result, ValidatedCustomer):
        extra = {
            "product_line": result.contract.product_line,
            "customer_id": result.customer.id,
        }
        if execution.step == FIRST_STEP:
            received = execution.handoff(
                key=Step.RECEIVED, step=Step.RECEIVED, outcome=Outcome.RECEIVED, **extra
            )
            handoffs.append(
                received.model_copy(
                    update={
                        "system": "q2c",
                        "started_at": execution.scheduled_at,
                        "finished_at": execution.scheduled_at,
                    }
                )
            )
    if isinstance(result, TaxedInvoice):
        extra = {"amount": str(result.invoice.total), "currency": result.invoice.currency}
    posted = next((a for a in args if isinstance(a, PostInvoiceInput)), None)
    if posted is not None:
        extra = {"amount": str(posted.invoice.total), "currency": posted.invoice.currency}
    handoffs.insert(0, execution.handoff(key=done, outcome=Outcome.SUCCESS, **extra))

    if isinstance(result, ValidatedCustomer) and result.blocking:
        handoffs.append(
            _outcome(
                execution,
                Outcome.NEEDS_ATTENTION,
                ReasonCode.CUSTOMER_INVALID,
                "; ".join(f"{p.field}: {p.code}" for p in result.blocking),
            )
        )
    if isinstance(result, RouteDecision) and result.reasons:
        codes = [reason.code for reason in result.reasons]
        handoffs.append(
            execution.handoff(
                key=f"{Step.APPROVAL}/requested",
                step=Step.APPROVAL,
                outcome=Outcome.APPROVAL_REQUESTED,
                reason_code=codes[0],
                detail=",".join(codes),
            )
        )
    handoffs.extend(_expired(execution, args))
    if isinstance(result, ReconcileResult):
        if result.matched:
            handoffs.append(_outcome(execution, Outcome.POSTED, "", ""))
        else:
            handoffs.append(
                _outcome(
                    execution,
                    Outcome.NEEDS_ATTENTION,
                    ReasonCode.RECONCILE_MISMATCH,
                    ",".join(d.field for d in result.differences),
                )
            )
    return handoffs


def on_failure(execution: Execution, args: Sequence[object], error: BaseException) -> list[Handoff]:
    message = str(error)[:500]
    code = type(error).__name__
    if isinstance(error, ApplicationError) and error.type:
        code = error.type
    if _is_cancellation(error):
        return [
            execution.handoff(
                key=f"{execution.activity_id}/attempt-{execution.attempt}",
                outcome=Outcome.CANCELLED,
                reason_code=code,
                detail=message,
            )
        ]
    final = execution.handoff(
        key=f"{execution.activity_id}/done", outcome=Outcome.FAILURE, reason_code=code,
        detail=message,
    )  # fmt: skip
    if isinstance(error, ApplicationError) and error.non_retryable:
        # The workflow turns a permanent failure into needs-attention with this code.
        return [final, _outcome(execution, Outcome.NEEDS_ATTENTION, code, message)]
    if execution.last_attempt:
        return [final, *_expired(execution, args)]
    return [
        execution.handoff(
            key=f"{execution.activity_id}/attempt-{execution.attempt}",
            outcome=Outcome.RETRY,
            reason_code=code,
            detail=message,
        )
    ]


def _expired(execution: Execution, args: Sequence[object]) -> list[Handoff]:
    """The approval expiry notice is the last thing a run does before it stops."""
    notice = next((a for a in args if isinstance(a, NotifyInput)), None)
    if notice is None or notice.kind != "expired":
        return []
    outcome = _outcome(execution, Outcome.NEEDS_ATTENTION, ReasonCode.APPROVAL_EXPIRED, "")
    return [outcome.model_copy(update={"system": "approver"})]


def _outcome(execution: Execution, outcome: Outcome, code: str, detail: str) -> Handoff:
    return execution.handoff(
        key=Step.OUTCOME, step=Step.OUTCOME, outcome=outcome, reason_code=code, detail=detail
    )


def _is_cancellation(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError | CancelledError)
