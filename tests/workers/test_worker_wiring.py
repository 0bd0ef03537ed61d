"""Configuration picks the parts the worker registers; the workflow is the same either way."""

import httpx
from temporalio import activity

from workers.settings import Settings
from workers.worker import activities_for, seller_from


def _names(settings: Settings) -> dict[str, object]:
    http = httpx.AsyncClient()
    return {
        str(activity._Definition.must_from_callable(fn).name): fn
        for fn in activities_for(http=http, settings=settings)
    }


def test_built_in_tax_engine_by_default() -> None:
    names = _names(Settings())
    compute_tax = names["compute_tax"]
    assert type(getattr(compute_tax, "__self__", None)).__name__ == "BillingActivities"


def test_an_external_tax_engine_url_replaces_the_step_under_the_same_name() -> None:
    names = _names(Settings(tax_engine_url="http://127.0.0.1:9/tax"))
    compute_tax = names["compute_tax"]
    assert type(getattr(compute_tax, "__self__", None)).__name__ == "HttpTaxActivities"


def test_seller_registrations_come_from_settings() -> None:
    default = seller_from(Settings())
    assert "US-NY" in default.registrations
    custom = seller_from(Settings(seller_registrations=["GB"], seller_country="GB"))
    assert custom.registrations == ["GB"]
    assert custom.country == "GB"
