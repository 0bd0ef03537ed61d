"""The approver policy: who may approve up to which amount, in which tier, and when to chase."""

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.approvals import ApprovalRequirement, ApproverGrant
from schemas.invoice import Invoice


class Approver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    match: str = Field(min_length=3, description="An e-mail, or a pattern: '*@finance.example'")
    tier: int = Field(ge=1, description="Escalation goes from the lowest tier upwards")
    limits: dict[str, Decimal] = Field(
        description="Highest total approvable, per currency; a missing currency: none"
    )


class ApproverPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_seconds: int = Field(gt=0)
    escalation_seconds: int = Field(gt=0)
    expiry_seconds: int = Field(gt=0)
    dual_approval_at: dict[str, Decimal] = Field(
        description="Totals at or above this, per currency, need two different approvers"
    )
    approvers: list[Approver] = Field(min_length=1)

    @model_validator(mode="after")
    def _timers_in_order(self) -> "ApproverPolicy":
        if not self.reminder_seconds < self.escalation_seconds < self.expiry_seconds:
            raise ValueError(
                "reminder_seconds < escalation_seconds < expiry_seconds must hold, got "
                f"{self.reminder_seconds}, {self.escalation_seconds}, {self.expiry_seconds}"
            )
        return self


def requirement_for(policy: ApproverPolicy, *, invoice: Invoice, owner: str) -> ApprovalRequirement:
    """What approving this invoice takes. Exact e-mails are matched before patterns."""
    return requirement_for_amount(
        policy, currency=invoice.currency, total=invoice.total, owner=owner
    )


def requirement_for_amount(
    policy: ApproverPolicy, *, currency: str, total: Decimal, owner: str
) -> ApprovalRequirement:
    """What approving `total` in `currency` takes (an invoice, a write-off)."""
    ordered = sorted(policy.approvers, key=lambda a: ("*" in a.match or "?" in a.match, a.tier))
    dual_at = policy.dual_approval_at.get(currency)
    return ApprovalRequirement(
        currency=currency,
        total=total,
        owner=owner,
        approvals_needed=2 if dual_at is not None and total >= dual_at else 1,
        grants=[
            ApproverGrant(match=a.match, tier=a.tier, limit=a.limits.get(currency)) for a in ordered
        ],
        reminder_seconds=policy.reminder_seconds,
        escalation_seconds=policy.escalation_seconds,
        expiry_seconds=policy.expiry_seconds,
    )
