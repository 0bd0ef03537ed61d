"""What one activity execution tells the audit trail: its own row, and the run's step
handoffs that can be read off its result (event received, approval requested). The run's
outcome is the workflow's to record (`activities/audit.py`)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from temporalio.exceptions import ApplicationError, CancelledError

from activities.audit import system_of
from schemas.audit import Handoff, Outcome, Step
from schemas.collection import PlanCollectionInput
from schemas.payments import CashPostingInput, CashPostingResult
from schemas.steps import PostInvoiceInput, RouteDecision, TaxedInvoice, ValidatedCustomer

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
        return system_of(self.step)

    def key(self, suffix: str) -> str:
        # By the workflow id (the business key), not the run id: a reset run executes its
        # activities again under the same ids, and they are the same run's handoffs.
        return f"{self.workflow_id}/{suffix}"

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
        extra = {
            "amount": str(posted.invoice.total),
            "currency": posted.invoice.currency,
            "detail": f"{posted.invoice.document_type} {posted.posting_key}",
        }
    extra |= _cash(args, result)
    handoffs.insert(0, execution.handoff(key=done, outcome=Outcome.SUCCESS, **extra))
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
    return handoffs


def _cash(args: Sequence[object], result: object) -> dict[str, str]:
    """What the receivables figures read off a collection: the due date a run planned, and
    the amount each payment, refund or write-off applied to the invoice, with its value date
    (`report_cash` in ops/report/receivables.py reads these back)."""
    plan = next((a for a in args if isinstance(a, PlanCollectionInput)), None)
    if plan is not None:
        return {"currency": plan.currency, "detail": f"due {plan.due_at.date().isoformat()}"}
    cash = next((a for a in args if isinstance(a, CashPostingInput)), None)
    if cash is not None and isinstance(result, CashPostingResult):
        return {
            "amount": str(result.applied),
            "currency": cash.currency,
            "detail": f"value {cash.value_date.isoformat()} {cash.reference}",
        }
    return {}


def on_failure(execution: Execution, error: BaseException) -> list[Handoff]:
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
    if execution.last_attempt or (isinstance(error, ApplicationError) and error.non_retryable):
        return [final]
    return [
        execution.handoff(
            key=f"{execution.activity_id}/attempt-{execution.attempt}",
            outcome=Outcome.RETRY,
            reason_code=code,
            detail=message,
        )
    ]


def _is_cancellation(error: BaseException) -> bool:
    return isinstance(error, asyncio.CancelledError | CancelledError)
