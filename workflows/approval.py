"""The wait for an approver's decision, on Temporal timers that survive restarts: remind,
escalate to the next tier, then expire into needs-attention. Decisions arrive by signal
(typed by a person, taken loosely and refused visibly) or by the `decide` update."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from activities.routing import RoutingActivities
    from schemas.approvals import (
        ApprovalInput,
        ApprovalRequirement,
        RecordedDecision,
        Verdict,
    )
    from schemas.audit import HandoffInput, Outcome, Step
    from schemas.bounded import NAME_CHARS, TEXT_CHARS, cut, too_long
    from schemas.errors import ReasonCode
    from schemas.runs import ApprovalProgress, RunInput, RunState
    from schemas.steps import NotifyInput
    from workflows.calls import CALL_TIMEOUT, NeedsAttention, record
    from workflows.run_view import RunView
    from workflows.signals import read_signal, received, refuse

APPROVE_HELP = (
    "Approve this invoice for posting to the ERP. "
    'Input: {"approver": "you@company.com", "comment": "why"}'
)
REJECT_HELP = (
    'Reject this invoice: nothing is posted. Input: {"approver": "you@company.com", '
    '"comment": "why"}'
)
DECIDE_HELP = "Approve or reject; a refused decision fails at once."


class ApprovalWait:
    """One run's approval: what the policy demands, the decisions taken and refused."""

    def __init__(self, view: RunView, input: RunInput) -> None:
        self._view = view
        self._status = view.status
        self._input = input
        self._requirement: ApprovalRequirement | None = None
        self._first = 0
        """Where this wait's decisions start in the run's list (a run may wait twice: for
        its invoice, then for a write-off)."""
        self._summary = ""

    async def wait(
        self, requirement: ApprovalRequirement, *, summary: str = ""
    ) -> RecordedDecision | None:
        """Wait for the decision; the rejection, if it was rejected. Raises NeedsAttention
        when no decision came in time. `summary` says what is asked (default: the total and
        the route's reasons)."""
        self._requirement = requirement
        self._first = len(self._status.decisions)
        self._summary = summary
        start = workflow.now()
        expiry = self._input.approval_timeout_seconds or requirement.expiry_seconds
        reminder = self._input.reminder_seconds or requirement.reminder_seconds
        escalation = self._input.escalation_seconds or requirement.escalation_seconds
        tiers = requirement.tiers() or [0]
        due = start + timedelta(seconds=expiry)
        self._status.approval = ApprovalProgress(
            approvals_needed=requirement.approvals_needed,
            tier=tiers[0],
            approvers=requirement.approvers_at(tiers[0]),
            waiting_since=start,
            due_at=due,
        )
        self._view.upsert(sa.APPROVAL_DUE_AT.value_set(due))
        self._view.set_state(RunState.AWAITING_APPROVAL)
        steps = [
            (s, k) for s, k in ((reminder, "reminder"), (escalation, "escalation")) if s < expiry
        ]
        for seconds, kind in [*sorted(steps), (expiry, "expired")]:
            remaining = start + timedelta(seconds=seconds) - workflow.now()
            if remaining > timedelta(0):
                self._view.flush()
                try:
                    await workflow.wait_condition(self.decided, timeout=remaining)
                except TimeoutError:
                    pass
            if self.decided():
                break
            if kind == "expired":
                await self._notify("expired")
                self._view.upsert(sa.APPROVAL_DUE_AT.value_unset())
                raise NeedsAttention(
                    ReasonCode.APPROVAL_EXPIRED,
                    f"no decision within {timedelta(seconds=expiry)}; the invoice was not posted",
                    step=Step.APPROVAL,
                )
            if kind == "escalation":
                self._escalate(tiers)
            else:
                self._status.approval.reminded_at = workflow.now()
            self._view.refresh_details()
            await self._notify(kind)
        self._view.upsert(sa.APPROVAL_DUE_AT.value_unset())
        # Who decided, and when, goes to the audit trail: it outlives this history.
        for decision in self._decisions():
            await record(
                self._view,
                HandoffInput(
                    step=Step.APPROVAL,
                    outcome=Outcome.APPROVED if decision.verdict == "approve" else Outcome.REJECTED,
                    decided_by=decision.approver,
                    at=decision.at,
                    detail=decision.comment,
                ),
            )
        return next((d for d in self._decisions() if d.verdict == "reject"), None)

    def _escalate(self, tiers: list[int]) -> None:
        progress = self._status.approval
        assert progress is not None and self._requirement is not None
        higher = [t for t in tiers if t > progress.tier]
        if higher:
            progress.tier = higher[0]
            progress.approvers = self._requirement.approvers_at(higher[0])
        progress.escalated_at = workflow.now()

    async def _notify(self, kind: str) -> None:
        # Best effort: a failing webhook must not stop the wait, so it is logged and passed.
        progress = self._status.approval
        assert progress is not None
        notice = NotifyInput(
            kind=kind,
            workflow_id=workflow.info().workflow_id,
            summary=self._summary
            or f"{self._status.total} {self._status.currency}: "
            + "; ".join(r.message for r in self._status.route_reasons),
            approvers=progress.approvers,
            due_at=progress.due_at,
        )
        self._view.flush()
        try:
            await workflow.execute_activity_method(
                RoutingActivities.notify,
                notice,
                start_to_close_timeout=CALL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=2)),
            )
        except ActivityError as error:
            workflow.logger.warning("approval %s notice failed: %s", kind, error.cause)

    # Decisions ----------------------------------------------------------------------------

    def _decisions(self) -> list[RecordedDecision]:
        return self._status.decisions[self._first :]

    def _approved_by(self) -> list[str]:
        return [d.approver for d in self._decisions() if d.verdict == "approve"]

    def decided(self) -> bool:
        if any(d.verdict == "reject" for d in self._decisions()):
            return True
        needed = self._requirement.approvals_needed if self._requirement else 1
        return len(self._approved_by()) >= needed

    def refusal(self, verdict: Verdict, approver: str) -> str | None:
        """Why this decision may not be recorded now, or None."""
        if self._view.bounded and (long := too_long("approver", approver, NAME_CHARS)):
            return long
        if self._status.state is not RunState.AWAITING_APPROVAL or self._requirement is None:
            return f"the run is {self._status.state.value}, not awaiting approval"
        if self.decided():
            return "a decision was already recorded"
        return self._requirement.refusal(verdict, approver, approved_by=self._approved_by())

    def accept(self, verdict: Verdict, approver: str, comment: str) -> bool:
        """Record the decision; whether its comment was kept cut."""
        long = len(comment) > TEXT_CHARS
        if long:
            comment = cut(comment)
        decision = RecordedDecision(
            verdict=verdict, approver=approver, comment=comment, at=workflow.now()
        )
        self._status.decisions.append(decision)
        if self._status.approval is not None and verdict == "approve":
            self._status.approval.approved_by.append(approver)
        self._view.refresh_details()
        return long

    def receive_signal(self, verdict: Verdict, payload: RawValue) -> None:
        text = received(payload)
        decision = read_signal(payload, ApprovalInput)
        if isinstance(decision, str):
            refuse(self._view, text, f"{verdict}: {decision}")
        elif (refusal := self.refusal(verdict, decision.approver)) is not None:
            refuse(self._view, text, f"{verdict} by {cut(decision.approver, 60)}: {refusal}")
        elif not self.accept(verdict, decision.approver, decision.comment):
            return
        self._view.whole.signal(verdict, payload)
