"""The dunning policy: loading and refusing files, which level is due, each level once and
in order, card retry days, and what is still owed after partial and over-payments."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.dunning import (
    CurrencyMismatch,
    DunningPolicy,
    DunningPolicyError,
    Receipt,
    days_past_due,
    level_due,
    levels_between,
    load_dunning_policy,
    next_card_retry,
    next_level_at,
    settle,
)

DUE = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
POLICY = DunningPolicy.model_validate(
    {
        "version": "test",
        "effective_from": date(2026, 1, 1),
        "card_retry_days": [0, 3, 5, 7],
        "levels": [
            {"name": "reminder", "days_past_due": 1, "actions": ["email_reminder"]},
            {
                "name": "blocked",
                "days_past_due": 30,
                "actions": ["block_account", "notify_owner"],
                "min_amount_due": {"EUR": "50"},
            },
            {"name": "final", "days_past_due": 60, "actions": ["final_notice"]},
            {"name": "write_off", "days_past_due": 90, "actions": ["propose_write_off"]},
        ],
    }
)

GOOD = """
[[versions]]
version = "v1"
effective_from = 2026-01-01
card_retry_days = [0, 3]
[[versions.levels]]
name = "reminder"
days_past_due = 1
actions = ["email_reminder"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dunning.toml"
    path.write_text(text)
    return path


def test_the_shipped_policy_loads() -> None:
    policy = load_dunning_policy().in_force(date(2026, 12, 1))
    assert policy.card_retry_days == [0, 3, 5, 7]
    assert [(lv.name, lv.days_past_due) for lv in policy.levels] == [
        ("reminder", 1),
        ("second_reminder", 14),
        ("account_blocked", 30),
        ("final_notice", 60),
        ("write_off", 90),
    ]
    assert policy.levels[2].min_amount_due["EUR"] == Decimal("50")


def test_the_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_DUNNING_POLICY_FILE", str(_write(tmp_path, GOOD)))
    assert load_dunning_policy().versions[0].version == "v1"


def test_the_version_in_force_on_a_day_is_chosen(tmp_path: Path) -> None:
    second = GOOD.replace('"v1"', '"v2"').replace("2026-01-01", "2026-07-01")
    policies = load_dunning_policy(_write(tmp_path, GOOD + second))
    assert policies.in_force(date(2026, 6, 30)).version == "v1"
    assert policies.in_force(date(2026, 7, 1)).version == "v2"
    with pytest.raises(DunningPolicyError, match="no dunning policy was in force on 2025-12-31"):
        policies.in_force(date(2025, 12, 31))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("days_past_due = 1", "days_past_due = -1"), "versions.0.levels.0.days_past_due"),
        (('["email_reminder"]', '["send_sms"]'), "versions.0.levels.0.actions.0: Input should be"),
        (('["email_reminder"]', "[]"), "versions.0.levels.0.actions: List should have at least"),
        (
            ('["email_reminder"]', '["email_reminder", "email_reminder"]'),
            "email_reminder listed twice",
        ),
        (("[0, 3]", "[3, 0]"), "versions.0.card_retry_days: Value error, card retry days must"),
        (('name = "reminder"', 'name = "reminder"\ncolour = "red"'), "colour: Extra inputs"),
        (("2026-01-01", '"soon"'), "versions.0.effective_from"),
        (
            (
                'actions = ["email_reminder"]',
                'actions = ["email_reminder"]\nmin_amount_due = { EUR = 50.5 }',
            ),
            "amounts must be strings or integers, not floats",
        ),
        (
            (
                'actions = ["email_reminder"]',
                'actions = ["email_reminder"]\nmin_amount_due = { XXY = "5" }',
            ),
            "'XXY' is not an ISO 4217 currency code",
        ),
        (('version = "v1"', "version = 1 = 2"), "not valid TOML"),
    ],
)
def test_a_bad_file_names_the_field_and_the_reason(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(DunningPolicyError) as error:
        load_dunning_policy(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)


def test_levels_out_of_order_or_repeated_are_refused(tmp_path: Path) -> None:
    later = '[[versions.levels]]\nname = "early"\ndays_past_due = 0\nactions = ["notify_owner"]\n'
    with pytest.raises(DunningPolicyError, match="days_past_due must increase: 0 comes after 1"):
        load_dunning_policy(_write(tmp_path, GOOD + later))
    same = later.replace('"early"', '"reminder"').replace("= 0", "= 5")
    with pytest.raises(DunningPolicyError, match="level names must be unique: reminder"):
        load_dunning_policy(_write(tmp_path, GOOD + same))
    with pytest.raises(DunningPolicyError, match="effective_from must increase"):
        load_dunning_policy(_write(tmp_path, GOOD + GOOD.replace('"v1"', '"v0"')))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DunningPolicyError, match="No such file"):
        load_dunning_policy(tmp_path / "missing.toml")


def test_days_past_due_count_whole_days_from_the_due_instant() -> None:
    assert days_past_due(due_at=DUE, at=DUE) == 0
    assert days_past_due(due_at=DUE, at=DUE + timedelta(hours=23, minutes=59)) == 0
    assert days_past_due(due_at=DUE, at=DUE + timedelta(days=1)) == 1
    assert days_past_due(due_at=DUE, at=DUE - timedelta(seconds=1)) == -1
    with pytest.raises(ValueError, match="at: .* has no time zone"):
        days_past_due(due_at=DUE, at=datetime(2026, 12, 2))  # noqa: DTZ001


def test_the_level_due_respects_the_minimum_per_currency() -> None:
    def due(days: int, amount: str, currency: str = "EUR") -> str | None:
        level = level_due(POLICY, days_past_due=days, amount_due=Decimal(amount), currency=currency)
        return level.name if level else None

    assert due(0, "100") is None
    assert due(1, "100") == "reminder"
    assert due(45, "100") == "blocked"
    assert due(45, "49.99") == "reminder"  # below the 50 EUR minimum to block
    assert due(45, "10", "USD") == "blocked"  # no USD minimum
    assert due(95, "100") == "write_off"
    assert due(95, "0") is None  # nothing owed, nothing to dun


def test_levels_fire_in_their_window_and_once() -> None:
    def fired(since_days: float, until_days: float, done: tuple[str, ...] = ()) -> list[str]:
        levels = levels_between(
            POLICY,
            due_at=DUE,
            since=DUE + timedelta(days=since_days),
            until=DUE + timedelta(days=until_days),
            amount_due=Decimal("100"),
            currency="EUR",
            fired=done,
        )
        return [level.name for level in levels]

    assert fired(0, 1) == ["reminder"]  # (0, 1]: the reminder's instant is the window's end
    assert fired(1, 30) == ["blocked"]  # the reminder's instant is not in (1, 30]
    assert fired(0, 100) == ["reminder", "blocked", "final", "write_off"]
    assert fired(0, 100, ("blocked",)) == ["reminder", "final", "write_off"]
    assert next_level_at(POLICY, due_at=DUE, after=DUE) == DUE + timedelta(days=1)
    assert next_level_at(POLICY, due_at=DUE, after=DUE + timedelta(days=1)) == DUE + timedelta(
        days=30
    )
    assert next_level_at(POLICY, due_at=DUE, after=DUE + timedelta(days=90)) is None


def test_the_card_schedule_gives_each_attempt_its_day() -> None:
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=0) == DUE
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=1) == DUE + timedelta(days=3)
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=3) == DUE + timedelta(days=7)
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=4) is None


@given(
    cuts=st.lists(st.integers(min_value=1, max_value=200 * 24), max_size=12),
    fired_before=st.sets(st.sampled_from(["reminder", "blocked", "final", "write_off"])),
)
def test_over_any_chain_of_windows_each_level_fires_at_most_once_and_in_order(
    cuts: list[int], fired_before: set[str]
) -> None:
    # Windows (h0, h1], (h1, h2], … in hours after the due date, as a run's timers might cut
    # them; the run remembers what fired.
    bounds = [0, *sorted(set(cuts)), 200 * 24]
    fired: list[str] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        fired += [
            level.name
            for level in levels_between(
                POLICY,
                due_at=DUE,
                since=DUE + timedelta(hours=start),
                until=DUE + timedelta(hours=end),
                amount_due=Decimal("100"),
                currency="EUR",
                fired=[*fired_before, *fired],
            )
        ]
    expected = [lv.name for lv in POLICY.levels if lv.name not in fired_before]
    assert fired == expected


def test_partial_payments_then_the_rest_settle_the_invoice() -> None:
    partial = settle(total=Decimal("544.40"), currency="USD", receipts=[_usd("200.00")])
    assert (partial.amount_due, partial.status) == (Decimal("344.40"), "partially_paid")
    paid = settle(
        total=Decimal("544.40"), currency="USD", receipts=[_usd("200.00"), _usd("344.40")]
    )
    assert (paid.amount_due, paid.credit_balance, paid.status) == (
        Decimal("0.00"),
        Decimal("0.00"),
        "paid",
    )


def test_an_overpayment_leaves_a_credit_balance() -> None:
    # 600.00 received on 544.40: 55.60 kept for the customer.
    over = settle(total=Decimal("544.40"), currency="USD", receipts=[_usd("600.00")])
    assert (over.applied, over.amount_due, over.credit_balance) == (
        Decimal("544.40"),
        Decimal("0.00"),
        Decimal("55.60"),
    )


def test_a_credit_note_reduces_what_is_owed() -> None:
    # 544.40 less a 144.40 credit: 400.00 owed, 100.00 paid, 300.00 due.
    after = settle(
        total=Decimal("544.40"),
        currency="USD",
        receipts=[_usd("100.00")],
        credited=Decimal("144.40"),
    )
    assert (after.amount_due, after.status) == (Decimal("300.00"), "partially_paid")


def test_a_payment_in_another_currency_is_refused() -> None:
    euros = Receipt(amount=Decimal("10.00"), currency="EUR")
    with pytest.raises(CurrencyMismatch, match="receipts.1.currency: EUR differs from the"):
        settle(total=Decimal("544.40"), currency="USD", receipts=[_usd("1.00"), euros])
    with pytest.raises(ValueError, match=r"receipts.0.amount: 1.005 is finer than USD"):
        settle(total=Decimal("544.40"), currency="USD", receipts=[_usd("1.005")])
    with pytest.raises(ValueError, match="total: 5.5 is finer than JPY"):
        settle(total=Decimal("5.5"), currency="JPY")


def _usd(amount: str) -> Receipt:
    return Receipt(amount=Decimal(amount), currency="USD")


@given(
    cents=st.integers(min_value=1, max_value=10**9),
    parts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=8),
)
def test_payments_that_split_the_total_settle_it_to_the_cent(cents: int, parts: list[int]) -> None:
    # Split `cents` into len(parts) positive receipts in proportion to `parts`.
    weights, shares = sum(parts), []
    for part in parts[:-1]:
        shares.append(cents * part // weights)
    shares.append(cents - sum(shares))
    receipts = [Receipt(amount=Decimal(s).scaleb(-2), currency="EUR") for s in shares if s > 0]
    total = Decimal(cents).scaleb(-2)
    settled = settle(total=total, currency="EUR", receipts=receipts)
    assert settled.status == "paid"
    assert settled.amount_due == settled.credit_balance == Decimal(0)
    assert settled.applied == total


@given(
    total_cents=st.integers(min_value=0, max_value=10**8),
    receipt_cents=st.lists(st.integers(min_value=1, max_value=10**8), max_size=6),
)
def test_applied_and_due_make_the_total_and_nothing_is_lost(
    total_cents: int, receipt_cents: list[int]
) -> None:
    total = Decimal(total_cents).scaleb(-2)
    receipts = [Receipt(amount=Decimal(c).scaleb(-2), currency="EUR") for c in receipt_cents]
    settled = settle(total=total, currency="EUR", receipts=receipts)
    assert settled.applied + settled.amount_due == total
    assert settled.applied + settled.credit_balance == settled.received
    assert settled.received == sum((r.amount for r in receipts), Decimal(0))
    assert min(settled.amount_due, settled.credit_balance) == 0
