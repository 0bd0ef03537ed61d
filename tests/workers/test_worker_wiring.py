"""Configuration picks the parts the worker registers; the workflow is the same either way."""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from temporalio import activity

import workflows.quote_to_cash
from billing.dunning import DunningPolicyError
from billing.tax import Seller
from workers.settings import Settings
from workers.worker import activities_for, compile_workflows, seller_from


def _names(settings: Settings) -> dict[str, object]:
    return {
        str(activity._Definition.must_from_callable(fn).name): fn
        for fn in activities_for(
            http=httpx.AsyncClient(), settings=settings, outside=httpx.AsyncClient()
        )
    }


def _tax_engine_of(settings: Settings) -> str:
    compute_tax = _names(settings)["compute_tax"]
    billing = getattr(compute_tax, "__self__", None)
    assert type(billing).__name__ == "BillingActivities"
    return type(billing._tax_engine).__name__  # type: ignore[union-attr]


def test_built_in_tax_engine_by_default() -> None:
    assert _tax_engine_of(Settings()) == "RuleTableEngine"


def test_an_external_tax_engine_url_serves_the_same_step() -> None:
    assert _tax_engine_of(Settings(tax_engine_url="http://127.0.0.1:9/tax")) == "HttpTaxEngine"


def test_the_seller_is_the_demo_seller_unless_settings_name_another() -> None:
    assert seller_from(Settings()) == Seller()
    assert seller_from(Settings(seller_name="Acme Ltd")).tax_id == Seller().tax_id


def test_seller_registrations_come_from_settings() -> None:
    default = seller_from(Settings())
    assert "US-NY" in default.registrations
    custom = seller_from(Settings(seller_registrations=["GB"], seller_country="GB"))
    assert custom.registrations == ["GB"]
    assert custom.country == "GB"


def test_vies_is_registered_only_when_enabled() -> None:
    assert "check_vat" not in _names(Settings())
    assert "check_vat" in _names(Settings(vies_enabled=True))


def test_third_party_calls_need_their_own_client_without_the_systems_token() -> None:
    with pytest.raises(ValueError, match="outside"):
        activities_for(http=httpx.AsyncClient(), settings=Settings(vies_enabled=True))
    with pytest.raises(ValueError, match="outside"):
        activities_for(http=httpx.AsyncClient(), settings=Settings(tax_engine_url="http://x"))


def test_the_worker_writes_the_workflow_bytecode_that_python_was_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sandbox loads the workflow module for every run: from bytecode, not from source.
    source = workflows.quote_to_cash.__file__
    cached = Path(importlib.util.cache_from_source(source))
    cached.unlink(missing_ok=True)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert compile_workflows()
    assert cached.exists()

    def no_compiling(*_args: object, **_kwargs: object) -> NoReturn:
        raise AssertionError("the source was compiled: the bytecode was not used")

    loader = importlib.machinery.SourceFileLoader("workflows.quote_to_cash", source)
    monkeypatch.setattr(loader, "source_to_code", no_compiling)
    assert loader.get_code("workflows.quote_to_cash") is not None


def test_the_cash_activities_are_registered() -> None:
    assert {
        "charge_payment",
        "fetch_payment",
        "refund_payment",
        "post_payment",
        "post_refund",
        "post_write_off",
        "apply_credit_note",
        "read_cash_posting",
        "fetch_open_items",
        "block_account",
        "unblock_account",
    } <= set(_names(Settings()))


def test_a_bad_dunning_policy_stops_the_worker_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "dunning.toml"
    bad.write_text(
        '[[versions]]\nversion = "v"\neffective_from = 2026-01-01\ncard_retry_days = [-1]\n'
    )
    monkeypatch.setenv("Q2C_DUNNING_POLICY_FILE", str(bad))
    with pytest.raises(DunningPolicyError, match="versions.0.card_retry_days"):
        _names(Settings())
