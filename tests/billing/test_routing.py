"""Routing reasons, the policy file and the approver policy: tables and properties."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.anomaly import score_metric
from billing.approvers import requirement_for
from billing.routing import (
    PolicyError,
    compare,
    load_policy,
    risk_level,
    route,
    score_history,
)
from schemas.approvals import ApprovalRequirement
from schemas.runs import Problem
from tests.billing.builders import contract, fee
from tests.billing.routing_builders import invoice

D = Decimal
SHIPPED_POLICY = Path(__file__).resolve().parents[2] / "billing" / "routing_policy.toml"
"""Found from this file, not the working directory: pytest may run from anywhere."""
POLICY = load_policy()


def _codes(**overrides: object) -> list[str]:
    args: dict[str, object] = {
        "invoice": invoice("1000.00"),
        "contract": contract(fee("1000")),
        "problems": [],
        "tax_uncertain": False,
        "policy": POLICY,
    }
    args.update(overrides)
    return [r.code for r in route(**args)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({}, []),
        (
            {"contract": contract(fee("1"), non_standard_clauses=["Net 90"])},
            ["non_standard_clause"],
        ),
        ({"contract": contract(fee("1"), price_override=True)}, ["price_override"]),
        ({"invoice": invoice("9999.99")}, []),
        ({"invoice": invoice("10000.00")}, ["amount_threshold"]),
        ({"invoice": invoice("7999.99", currency="GBP")}, []),
        ({"invoice": invoice("8000.00", currency="GBP")}, ["amount_threshold"]),
        ({"invoice": invoice("5950.00", currency="EUR")}, []),
        ({"previous": compare(D("1000.00"), D("667"))}, []),  # +49.93 %
        ({"previous": compare(D("1000.00"), D("666"))}, ["change_vs_previous"]),  # +50.15 %
        ({"previous": compare(D("1000.00"), D("2000"))}, []),  # −50 % exactly is allowed
        ({"previous": compare(D("1000.00"), D("2001"))}, ["change_vs_previous"]),
        ({"previous": compare(D("1000.00"), D("0"))}, []),
        ({"tax_uncertain": True}, ["tax_uncertain"]),
        (
            {"problems": [Problem(field="customer.email", code="x", message="m", blocking=False)]},
            ["validation_warning"],
        ),
        (
            {
                "scores": [
                    score_metric(
                        metric="invoice_total",
                        observed=D("1000"),
                        history=[D("100"), D("110"), D("90")],
                        threshold=D("3.5"),
                    )
                ]
            },
            ["anomaly"],
        ),
    ],
)
def test_each_rule_gives_its_reason(overrides: dict[str, object], codes: list[str]) -> None:
    assert _codes(**overrides) == codes


def test_reasons_carry_a_sentence_a_person_can_act_on() -> None:
    reasons = route(
        invoice=invoice("1000.00"),
        contract=contract(fee("1")),
        problems=[],
        tax_uncertain=False,
        policy=POLICY,
        previous=compare(D("1000.00"), D("400")),
    )
    assert reasons[0].message == (
        "Total 1000.00 USD is +150.00% against the previous invoice (400 USD); "
        "the policy allows ±50%"
    )


def test_without_history_nothing_is_scored_and_the_notes_say_so() -> None:
    scores, notes = score_history(
        observed={"invoice_total": D("18000"), "api_calls": D("5")},
        history={"invoice_total": [D("1"), D("2")]},
        policy=POLICY,
    )
    assert scores == []
    assert notes == [
        "invoice_total: not scored, 2 earlier values (the policy needs 3)",
        "api_calls: not scored, 0 earlier values (the policy needs 3)",
    ]


@given(
    total=st.decimals(min_value=0, max_value=D("9999.99"), places=2),
    previous=st.decimals(min_value=1, max_value=10**6, places=2) | st.none(),
)
def test_a_clean_contract_below_threshold_goes_straight_through_unless_it_changed(
    total: Decimal, previous: Decimal | None
) -> None:
    reasons = route(
        invoice=invoice(str(total)),
        contract=contract(fee("1")),
        problems=[],
        tax_uncertain=False,
        policy=POLICY,
        previous=compare(total, previous),
    )
    changed = previous is not None and abs(total - previous) * 100 > D(50) * previous
    assert [r.code for r in reasons] == (["change_vs_previous"] if changed else [])
    assert risk_level(reasons, approvals_needed=1) == ("medium" if changed else "low")


@given(total=st.decimals(min_value=D("10000"), max_value=10**8, places=2))
def test_at_or_above_the_threshold_always_needs_approval(total: Decimal) -> None:
    assert "amount_threshold" in _codes(invoice=invoice(str(total)))


# The policy file ----------------------------------------------------------------------------


def test_the_shipped_policy_loads_and_env_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert POLICY.version == "default-2026-11"
    text = SHIPPED_POLICY.read_text("utf-8").replace("default-2026-11", "ours")
    (tmp_path / "p.toml").write_text(text)
    monkeypatch.setenv("Q2C_POLICY_FILE", str(tmp_path / "p.toml"))
    assert load_policy().version == "ours"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('change_percent = "50"', 'change_percent = "-1"'), "routing.change_percent: Input"),
        (("min_history = 3", "min_histories = 3"), "routing.min_histories: Extra inputs"),
        (("expiry_seconds = 604800", "expiry_seconds = 3600"), "reminder_seconds < escalation"),
        (('USD = "10000"', 'USD = "ten"'), "routing.approval_threshold.USD"),
        (("[routing]", "[routing"), "not valid TOML"),
    ],
)
def test_a_bad_policy_file_names_the_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = SHIPPED_POLICY.read_text("utf-8")
    assert change[0] in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(PolicyError, match=str(path)) as error:
        load_policy(path)
    assert message in str(error.value)


def test_a_missing_policy_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="No such file"):
        load_policy(tmp_path / "nope.toml")


# The approver policy ------------------------------------------------------------------------


def _requirement(
    total: str, currency: str = "USD", owner: str = "ae.smith@q2c.example"
) -> ApprovalRequirement:
    return requirement_for(POLICY.approvals, invoice=invoice(total, currency=currency), owner=owner)


@pytest.mark.parametrize(
    ("total", "verdict", "approver", "approved_by", "refusal"),
    [
        ("18000", "approve", "ar.lead@q2c.example", [], None),
        ("18000", "approve", "AR.Lead@Q2C.example", [], None),
        ("18000", "approve", "ae.smith@q2c.example", [], "owns this contract"),
        ("18000", "reject", "ae.smith@q2c.example", [], "not an approver"),
        ("18000", "approve", "someone@else.example", [], "not an approver"),
        ("30000", "approve", "ar.lead@q2c.example", [], "may approve up to 25000 USD"),
        ("30000", "reject", "ar.lead@q2c.example", [], None),
        ("30000", "approve", "controller@q2c.example", [], None),
        ("150000", "approve", "controller@q2c.example", ["controller@q2c.example"], "already"),
        ("150000", "approve", "cfo@q2c.example", ["controller@q2c.example"], None),
    ],
)
def test_approver_refusals(
    total: str, verdict: str, approver: str, approved_by: list[str], refusal: str | None
) -> None:
    found = _requirement(total).refusal(verdict, approver, approved_by=approved_by)  # type: ignore[arg-type]
    if refusal is None:
        assert found is None
    else:
        assert found is not None and refusal in found


def test_tiers_and_dual_approval_follow_the_amount() -> None:
    small = _requirement("18000")
    assert small.approvals_needed == 1
    assert small.tiers() == [1, 2, 3]
    assert small.approvers_at(1) == ["ar.lead@q2c.example", "billing.ops@q2c.example"]
    large = _requirement("150000")
    assert large.approvals_needed == 2
    assert large.tiers() == [2, 3]
    assert _requirement("99999.99").approvals_needed == 1


def test_a_pattern_grants_a_whole_domain_after_exact_emails() -> None:
    custom = POLICY.approvals.model_copy(
        update={
            "approvers": [
                *POLICY.approvals.approvers,
                POLICY.approvals.approvers[0].model_copy(update={"match": "*@finance.example"}),
            ]
        }
    )
    required = requirement_for(custom, invoice=invoice("100"), owner="")
    assert required.refusal("approve", "ana@finance.example", approved_by=[]) is None
    assert required.grants[-1].match == "*@finance.example"


@given(total=st.decimals(min_value=D("0.01"), max_value=10**7, places=2))
def test_nobody_approves_above_their_limit_and_the_owner_never(total: Decimal) -> None:
    required = _requirement(str(total), owner="cfo@q2c.example")
    for grant in required.grants:
        refusal = required.refusal("approve", grant.match, approved_by=[])
        allowed = (
            grant.match != "cfo@q2c.example" and grant.limit is not None and total <= grant.limit
        )
        assert (refusal is None) == allowed
