"""The rules the collection phase asks for: its plan from the dunning policy, what a
write-off's approval takes, and a dispute's credit note. Pure rules from `billing/`, run as
activities so their answers are recorded in the run's history: a policy changed while a run
waits never changes what that run replays."""

from temporalio import activity

from activities.errors import permanent
from billing.approvers import requirement_for_amount
from billing.dispute_credit import dispute_credit_note
from billing.dunning import DunningPolicies, DunningPolicyError, card_retry_at, fires_at
from billing.routing import RoutingPolicy
from schemas.approvals import ApprovalRequirement
from schemas.collection import (
    CollectionPlan,
    DisputeCreditInput,
    PlanCollectionInput,
    PlannedLevel,
    WriteOffApprovalInput,
)
from schemas.errors import ReasonCode
from schemas.invoice import Invoice


class CollectionActivities:
    def __init__(self, *, dunning: DunningPolicies, routing: RoutingPolicy) -> None:
        self._dunning = dunning
        self._routing = routing

    @activity.defn
    async def plan_collection(self, input: PlanCollectionInput) -> CollectionPlan:
        """The policy version in force on the due date, as instants for this invoice."""
        try:
            policy = self._dunning.in_force(input.due_at.date())
        except DunningPolicyError as error:
            raise permanent(ReasonCode.CONFIGURATION, str(error)) from None
        return CollectionPlan(
            policy_version=policy.version,
            due_at=input.due_at,
            card_attempts=card_retry_at(policy, due_at=input.due_at),
            levels=[
                PlannedLevel(
                    name=level.name,
                    days_past_due=level.days_past_due,
                    at=fires_at(level, due_at=input.due_at),
                    actions=list(level.actions),
                    min_amount_due=level.min_amount_due.get(input.currency),
                )
                for level in policy.levels
            ],
        )

    @activity.defn
    async def write_off_approval(self, input: WriteOffApprovalInput) -> ApprovalRequirement:
        """The approver policy applied to the amount to write off: four-eyes above its
        dual-approval amount, each approver within their limit."""
        return requirement_for_amount(
            self._routing.approvals, currency=input.currency, total=input.amount, owner=input.owner
        )

    @activity.defn
    async def draft_dispute_credit(self, input: DisputeCreditInput) -> Invoice:
        try:
            return dispute_credit_note(
                input.invoice,
                amount=input.amount,
                credit_note_id=input.credit_note_id,
                reason=input.reason,
            )
        except ValueError as error:
            raise permanent(ReasonCode.BAD_REQUEST, str(error)) from None
