"""Dunning: the policy (levels by days past due, card retry days) and the instants it puts
on an invoice's timeline: when each level fires, when each card attempt is due.

The policy is a TOML file: `billing/dunning_policy.toml` ships the defaults,
`Q2C_DUNNING_POLICY_FILE` names another. It holds effective-dated versions; a run follows
the version in force on its invoice's due date. Days past due count whole days from the due
instant: a level at 30 days fires 30 × 24 hours after it.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from billing.policy_file import load_policy_file
from schemas.money import Amount, CurrencyCode

DUNNING_POLICY_ENV = "Q2C_DUNNING_POLICY_FILE"
Action = Literal[
    "email_reminder", "notify_owner", "block_account", "final_notice", "propose_write_off"
]


class DunningPolicyError(ValueError):
    """The dunning policy cannot be read or does not validate; names the file and the field."""


def _strictly_increasing(values: Sequence[int] | Sequence[date], what: str) -> None:
    for before, after in zip(values, values[1:], strict=False):
        if after <= before:  # type: ignore[operator]  # one kind per sequence
            raise ValueError(f"{what} must increase: {after} comes after {before}")


class DunningLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    days_past_due: int = Field(ge=0, le=3650)
    actions: list[Action] = Field(min_length=1)
    min_amount_due: dict[CurrencyCode, Amount] = Field(
        default_factory=dict, description="Skipped below this amount due; no entry, no minimum"
    )

    @field_validator("actions")
    @classmethod
    def _each_action_once(cls, actions: list[Action]) -> list[Action]:
        repeated = sorted({action for action in actions if actions.count(action) > 1})
        if repeated:
            raise ValueError(f"{', '.join(repeated)} listed twice")
        return actions

    @field_validator("min_amount_due")
    @classmethod
    def _not_negative(cls, minimums: dict[str, Decimal]) -> dict[str, Decimal]:
        for currency, amount in minimums.items():
            if amount < 0:
                raise ValueError(f"{currency} {amount} is negative")
        return minimums


class DunningPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    effective_from: date
    card_retry_days: list[int] = Field(
        default_factory=lambda: [0], description="Days after the due date a card is charged"
    )
    levels: list[DunningLevel] = Field(default_factory=list)

    @field_validator("card_retry_days")
    @classmethod
    def _retry_days(cls, days: list[int]) -> list[int]:
        if any(day < 0 for day in days):
            raise ValueError("days after the due date cannot be negative")
        _strictly_increasing(days, "card retry days")
        return days

    @field_validator("levels")
    @classmethod
    def _ordered_levels(cls, levels: list[DunningLevel]) -> list[DunningLevel]:
        names = [level.name for level in levels]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"level names must be unique: {', '.join(repeated)} repeated")
        _strictly_increasing([level.days_past_due for level in levels], "days_past_due")
        return levels


class DunningPolicies(BaseModel):
    """Every version of the policy, oldest first."""

    model_config = ConfigDict(extra="forbid")

    versions: list[DunningPolicy] = Field(min_length=1)

    @field_validator("versions")
    @classmethod
    def _dated_in_order(cls, versions: list[DunningPolicy]) -> list[DunningPolicy]:
        _strictly_increasing([v.effective_from for v in versions], "effective_from")
        names = [v.version for v in versions]
        if len(set(names)) != len(names):
            raise ValueError(f"version names must be unique: {names}")
        return versions

    def in_force(self, on: date) -> DunningPolicy:
        """The latest version that took effect on or before `on`."""
        in_force = [v for v in self.versions if v.effective_from <= on]
        if not in_force:
            raise DunningPolicyError(
                f"no dunning policy was in force on {on}: the first took effect on "
                f"{self.versions[0].effective_from}"
            )
        return in_force[-1]


def load_dunning_policy(path: Path | None = None) -> DunningPolicies:
    """The policy at `path`, else at `$Q2C_DUNNING_POLICY_FILE`, else the shipped defaults."""
    return load_policy_file(
        DunningPolicies,
        path=path,
        env=DUNNING_POLICY_ENV,
        shipped="dunning_policy.toml",
        error=DunningPolicyError,
    )


# --- when levels fire --------------------------------------------------------------------


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name}: {moment} has no time zone")
    return moment


def fires_at(level: DunningLevel, *, due_at: datetime) -> datetime:
    return _aware(due_at, "due_at") + timedelta(days=level.days_past_due)


def card_retry_at(policy: DunningPolicy, *, due_at: datetime) -> list[datetime]:
    """The instants of the card schedule; attempt n (from 1) is the n-th."""
    return [_aware(due_at, "due_at") + timedelta(days=day) for day in policy.card_retry_days]


def next_card_retry(
    policy: DunningPolicy, *, due_at: datetime, attempts_made: int
) -> datetime | None:
    """When attempt `attempts_made + 1` is due; None when the schedule is spent."""
    if attempts_made < 0:
        raise ValueError(f"attempts_made: {attempts_made} is negative")
    schedule = card_retry_at(policy, due_at=due_at)
    return schedule[attempts_made] if attempts_made < len(schedule) else None
