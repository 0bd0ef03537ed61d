"""Routing: straight through, or to a person with the reasons in front of them.

The policy is a TOML file: `billing/routing_policy.toml` ships the defaults, `Q2C_POLICY_FILE`
names another. Every reason has a code and a human sentence; no reason means straight through.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from billing.anomaly import explain, score_metric
from billing.approvers import ApproverPolicy
from billing.policy_file import load_policy_file
from schemas.contract import Contract
from schemas.invoice import Invoice
from schemas.runs import Problem, RouteReason
from schemas.steps import RISK_LEVELS, AnomalyScore

POLICY_ENV = "Q2C_POLICY_FILE"
INVOICE_TOTAL_METRIC = "invoice_total"


class PolicyError(ValueError):
    """The policy file cannot be read or does not validate; names the file and the field."""


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approval_threshold: dict[str, Decimal] = Field(
        description="Totals at or above this, per currency, need approval"
    )
    change_percent: Decimal = Field(
        gt=0, description="A change against the previous invoice beyond this percentage"
    )
    anomaly_threshold: Decimal = Field(gt=0, description="|modified z-score| above this")
    min_history: int = Field(ge=2, description="Fewer earlier values than this: no score")
    history_invoices: int = Field(ge=0, le=24, description="Earlier invoices read from the ERP")
    history_periods: int = Field(ge=0, le=24, description="Earlier usage periods read")


class NotifyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: str = Field(default="", description="Empty: log lines only")


class RoutingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1)
    routing: RoutingRules
    approvals: ApproverPolicy
    notify: NotifyRules = Field(default_factory=NotifyRules)


def load_policy(path: Path | None = None) -> RoutingPolicy:
    """The policy at `path`, else at `$Q2C_POLICY_FILE`, else the shipped defaults."""
    return load_policy_file(
        RoutingPolicy, path=path, env=POLICY_ENV, shipped="routing_policy.toml", error=PolicyError
    )


def route(
    *,
    invoice: Invoice,
    contract: Contract,
    problems: list[Problem],
    tax_uncertain: bool,
    policy: RoutingPolicy,
    scores: Sequence[AnomalyScore] = (),
    previous: "Comparison | None" = None,
    tax_uncertain_reasons: Sequence[str] = (),
) -> list[RouteReason]:
    """Every reason a person must look; none means straight through. The tax engine's
    reasons for uncertainty are in the sentence, so the approver reads what to check."""
    rules = policy.routing
    reasons: list[RouteReason] = []
    for clause in contract.non_standard_clauses:
        reasons.append(
            RouteReason(code="non_standard_clause", message=f"Non-standard clause: {clause}")
        )
    if contract.price_override:
        reasons.append(
            RouteReason(code="price_override", message="The contract carries a manual price")
        )
    threshold = rules.approval_threshold.get(invoice.currency)
    if threshold is not None and invoice.total >= threshold:
        reasons.append(
            RouteReason(
                code="amount_threshold",
                message=f"Total {invoice.total} {invoice.currency} is at or above the "
                f"{threshold} {invoice.currency} approval threshold",
            )
        )
    if previous is not None and abs(previous.change_percent) > rules.change_percent:
        reasons.append(
            RouteReason(
                code="change_vs_previous",
                message=f"Total {invoice.total} {invoice.currency} is "
                f"{previous.change_percent:+}% against the previous invoice "
                f"({previous.previous_total} {invoice.currency}); the policy allows "
                f"±{rules.change_percent}%",
            )
        )
    for score in scores:
        if score.anomalous:
            reasons.append(RouteReason(code="anomaly", message=explain(score)))
    for problem in problems:
        if not problem.blocking:
            reasons.append(
                RouteReason(
                    code="validation_warning", message=f"{problem.field}: {problem.message}"
                )
            )
    if tax_uncertain or tax_uncertain_reasons:
        why = "; ".join(tax_uncertain_reasons)
        reasons.append(
            RouteReason(
                code="tax_uncertain",
                message="The tax result is uncertain" + (f": {why}" if why else ""),
            )
        )
    return reasons


@dataclass(frozen=True)
class Comparison:
    """A total against the previous one of its kind."""

    previous_total: Decimal
    change_percent: Decimal


def compare(total: Decimal, previous_total: Decimal | None) -> Comparison | None:
    """None without a base to compare with (no earlier total, or an earlier zero)."""
    change = change_percent(total, previous_total)
    if previous_total is None or change is None:
        return None
    return Comparison(previous_total=previous_total, change_percent=change)


def change_percent(total: Decimal, previous: Decimal | None) -> Decimal | None:
    """The change against the previous total in percent (2 places); None without a base."""
    if previous is None or previous == 0:
        return None
    return ((total - previous) * 100 / abs(previous)).quantize(Decimal("0.01"))


def score_history(
    *,
    observed: Mapping[str, Decimal],
    history: Mapping[str, Sequence[Decimal]],
    policy: RoutingPolicy,
) -> tuple[list[AnomalyScore], list[str]]:
    """Score each metric that has enough history; say which were not scored and why."""
    rules = policy.routing
    scores: list[AnomalyScore] = []
    notes: list[str] = []
    for metric, value in observed.items():
        earlier = history.get(metric, ())
        if len(earlier) < rules.min_history:
            notes.append(
                f"{metric}: not scored, {len(earlier)} earlier values "
                f"(the policy needs {rules.min_history})"
            )
            continue
        scores.append(
            score_metric(
                metric=metric,
                observed=value,
                history=earlier,
                threshold=rules.anomaly_threshold,
            )
        )
    return scores, notes


def risk_level(reasons: Sequence[RouteReason], *, approvals_needed: int) -> str:
    """high: contract terms, anomalies or a dual-approval amount; medium: any other reason."""
    low, medium, high = RISK_LEVELS
    if not reasons:
        return low
    severe = {"non_standard_clause", "price_override", "anomaly"}
    if approvals_needed > 1 or any(r.code in severe for r in reasons):
        return high
    return medium
