"""What an approver sends, and what the run records of it."""

import fnmatch
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Verdict = Literal["approve", "reject"]


class ApprovalInput(BaseModel):
    """The one JSON object an approver types in the UI's *Send a Signal* dialog."""

    approver: str = Field(min_length=3, description="The approver's e-mail")
    comment: str = ""


class Decision(BaseModel):
    """A decision sent through the `decide` update (CLI and scripts)."""

    verdict: Verdict
    approver: str = Field(min_length=3)
    comment: str = ""


class RecordedDecision(BaseModel):
    verdict: Verdict
    approver: str
    comment: str
    at: datetime


class RefusedAttempt(BaseModel):
    """A decision the run did not accept, and why: nothing sent by a person is dropped."""

    received: str = Field(description="What arrived, as text")
    cause: str
    at: datetime


class ApproverGrant(BaseModel):
    """One approver as the policy sees them for one invoice's currency."""

    match: str = Field(description="An e-mail, or a pattern such as '*@finance.example'")
    tier: int = Field(ge=1)
    limit: Decimal | None = Field(
        default=None, description="Highest total they may approve; None: none in this currency"
    )

    def covers(self, approver: str) -> bool:
        return fnmatch.fnmatchcase(approver.lower(), self.match.lower())


class ApprovalRequirement(BaseModel):
    """What the approver policy demands of one invoice: recorded by the route activity, so a
    policy change never alters a run already waiting."""

    currency: str
    total: Decimal
    owner: str = Field(default="", description="The contract's owner: may not approve it")
    approvals_needed: int = Field(default=1, ge=1, le=2)
    grants: list[ApproverGrant] = Field(default_factory=list)
    reminder_seconds: int = Field(gt=0)
    escalation_seconds: int = Field(gt=0)
    expiry_seconds: int = Field(gt=0)

    def grant_for(self, approver: str) -> ApproverGrant | None:
        """The first grant matching the e-mail (the policy lists exact e-mails first)."""
        return next((g for g in self.grants if g.covers(approver)), None)

    def eligible(self, grant: ApproverGrant) -> bool:
        return grant.limit is not None and self.total <= grant.limit

    def tiers(self) -> list[int]:
        """Tiers holding at least one approver allowed to approve this total, lowest first."""
        return sorted({g.tier for g in self.grants if self.eligible(g)})

    def approvers_at(self, tier: int) -> list[str]:
        return [g.match for g in self.grants if g.tier == tier and self.eligible(g)]

    def refusal(self, verdict: Verdict, approver: str, *, approved_by: list[str]) -> str | None:
        """Why the policy refuses this decision, or None when it may be recorded."""
        who = approver.lower()
        if verdict == "approve" and self.owner and who == self.owner.lower():
            return f"{approver} owns this contract and may not approve it"
        grant = self.grant_for(approver)
        if grant is None:
            return f"{approver} is not an approver in the policy"
        if verdict == "reject":
            return None
        if grant.limit is None:
            return f"{approver} may not approve invoices in {self.currency}"
        if self.total > grant.limit:
            return (
                f"{approver} may approve up to {grant.limit} {self.currency}; "
                f"this invoice is {self.total} {self.currency}"
            )
        if who in (a.lower() for a in approved_by):
            return (
                f"{approver} has already approved; the second approval must come from "
                "a different approver"
            )
        return None
