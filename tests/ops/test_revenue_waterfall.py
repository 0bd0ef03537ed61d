"""`q2c revenue waterfall` against a systems service of its own: the roll-forward as JSON and
table, and the HTML page drawn by headless Chromium to a PNG."""

import io
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from activities.revenue import RevenueActivities
from cli import build_app
from schemas.revenue import PostRecognitionInput
from tests.conftest import SystemsService, running_systems
from tests.workflows.revenue_data import BILLED_IN_OCTOBER, post_billed_in, quarterly_fee

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
runner = CliRunner()


@pytest.fixture(scope="module")
def own_systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    # The report sums the whole ERP; the tests here only read it, so they share one.
    with running_systems(tmp_path_factory.mktemp("waterfall")) as service:
        yield service


@pytest.fixture(scope="module")
async def booked(own_systems: SystemsService) -> AsyncIterator[SystemsService]:
    """USD 300.00 and EUR 600.00 billed in October for October..December, ratably per month;
    October recognised (USD 100.00, EUR 200.00)."""
    async with own_systems.client() as http:
        for currency, amount in (("USD", "300.00"), ("EUR", "600.00")):
            document, _ = quarterly_fee(currency, amount)
            await post_billed_in(http, document, scheduled=BILLED_IN_OCTOBER)
            await RevenueActivities(client=http).post_recognition(
                PostRecognitionInput(month="2026-10", currency=currency)
            )
    yield own_systems


def _q2c(systems: SystemsService, *args: str) -> object:
    env = {"Q2C_SYSTEMS_URL": systems.url, "Q2C_SYSTEMS_TOKEN": systems.token}
    return runner.invoke(build_app(), ["revenue", "waterfall", *args], env=env)


def test_the_roll_forward_per_month_and_currency(booked: SystemsService) -> None:
    result = _q2c(booked, "--from", "2026-09", "--to", "2026-12", "--format", "json")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    rows = json.loads(result.stdout)  # type: ignore[attr-defined]
    usd = [
        (r["month"], r["opening"], r["billed"], r["recognised"], r["closing"])
        for r in rows
        if r["currency"] == "USD"
    ]
    # By hand: nothing before October; October defers 300.00 and recognises 100.00;
    # November and December have not been recognised yet, so 200.00 stays deferred.
    assert usd == [
        ("2026-09", "0.00", "0.00", "0.00", "0.00"),
        ("2026-10", "0.00", "300.00", "100.00", "200.00"),
        ("2026-11", "200.00", "0.00", "0.00", "200.00"),
        ("2026-12", "200.00", "0.00", "0.00", "200.00"),
    ]
    eur = {r["month"]: r["closing"] for r in rows if r["currency"] == "EUR"}
    assert eur["2026-10"] == "400.00"
    table = _q2c(booked, "--from", "2026-10", "--to", "2026-10")
    assert table.exit_code == 0 and "300.00" in table.stdout  # type: ignore[attr-defined]


def test_bad_months_are_named(own_systems: SystemsService) -> None:
    bad = _q2c(own_systems, "--from", "2026-13")
    assert bad.exit_code == 2 and "--from" in bad.stderr  # type: ignore[attr-defined]
    backwards = _q2c(own_systems, "--from", "2026-12", "--to", "2026-10")
    assert backwards.exit_code == 2 and "--to" in backwards.stderr  # type: ignore[attr-defined]


@pytest.mark.browser
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium")
def test_the_html_page_draws_a_chart_per_currency(booked: SystemsService, tmp_path: Path) -> None:
    page_file = tmp_path / "waterfall.html"
    made = _q2c(
        booked, "--from", "2026-10", "--to", "2026-12", "--format", "html", "--out", str(page_file)
    )
    assert made.exit_code == 0, made.stderr  # type: ignore[attr-defined]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = chromium.new_page(viewport={"width": 900, "height": 700})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        for currency in ("EUR", "USD"):
            svg = page.locator(f'svg[data-chart="waterfall-{currency}"]')
            box = svg.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100
            # Three months, three bars each; October's billed bar is the tallest.
            bars = svg.locator("rect.bar")
            assert bars.count() == 9
            heights = {
                (bars.nth(i).get_attribute("class"), i // 3): float(
                    bars.nth(i).get_attribute("height") or 0
                )
                for i in range(9)
            }
            assert max(heights, key=lambda k: heights[k]) == ("bar billed", 0)
        png = page.locator('svg[data-chart="waterfall-USD"]').screenshot()
        chromium.close()
    assert requests == [page_file.as_uri()], "nothing is fetched"
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20) or []}
    # The three series' colours are on the picture: billed, recognised, closing.
    for hex_colour in ("#8fbf4d", "#e0903a", "#3e7cb1"):
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in colours, hex_colour
    (tmp_path / "waterfall.png").write_bytes(png)
