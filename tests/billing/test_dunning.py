"""The dunning policy: loading and refusing files, the version in force, and the instants it
puts on an invoice's timeline (levels, card retry days)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from billing.dunning import (
    DunningPolicy,
    DunningPolicyError,
    fires_at,
    load_dunning_policy,
    next_card_retry,
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


def test_a_level_fires_its_days_past_due_in_whole_days_after_the_due_instant() -> None:
    levels = {level.name: level for level in POLICY.levels}
    assert fires_at(levels["reminder"], due_at=DUE) == datetime(2026, 12, 2, tzinfo=UTC)
    # 30 × 24 hours after midnight UTC on 1 December.
    assert fires_at(levels["blocked"], due_at=DUE) == datetime(2026, 12, 31, tzinfo=UTC)
    with pytest.raises(ValueError, match="due_at: .* has no time zone"):
        fires_at(levels["reminder"], due_at=datetime(2026, 12, 1))  # noqa: DTZ001


def test_the_card_schedule_gives_each_attempt_its_day() -> None:
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=0) == DUE
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=1) == DUE + timedelta(days=3)
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=3) == DUE + timedelta(days=7)
    assert next_card_retry(POLICY, due_at=DUE, attempts_made=4) is None
    with pytest.raises(ValueError, match="attempts_made: -1 is negative"):
        next_card_retry(POLICY, due_at=DUE, attempts_made=-1)
