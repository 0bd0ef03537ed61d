"""What an approver sends, and what the run records of it."""

from datetime import datetime
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
