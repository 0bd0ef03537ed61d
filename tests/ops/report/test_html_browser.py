"""The HTML report in headless Chromium: three charts drawn, no request leaves the page."""

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from ops.report.build import write_html
from ops.report.figures import compute
from schemas.audit import SKIPPED_PREFIX, Handoff, Outcome, Step
from tests.ops.report.trail import NOW, SINCE, known_trail

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Debian's chromium"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_the_page_draws_its_charts_offline(browser: Browser, tmp_path: Path) -> None:
    path = write_html(compute(known_trail(), now=NOW, since=SINCE), tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())

    assert page.title() == "q2c report"
    for chart, bars in (("cycle-time", 1), ("exceptions", 7), ("aging", 4)):
        svg = page.locator(f'svg[data-chart="{chart}"]')
        assert svg.count() == 1, chart
        box = svg.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 50, chart
        assert svg.locator("rect.bar").count() >= bars, chart
    aging = page.locator('svg[data-chart="aging"] rect.bar')
    assert [float(aging.nth(i).get_attribute("height") or 0) > 0 for i in range(4)] == [True] * 4
    assert "20%" in page.locator(".tiles").inner_text()  # straight-through 2 of 10
    assert requests == [path.as_uri()]
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()


def test_the_receivables_section_draws_an_aging_chart_per_currency(
    browser: Browser, tmp_path: Path
) -> None:
    from tests.ops.report.test_receivables_section import cash_trail

    path = write_html(compute(cash_trail(), now=NOW, since=SINCE), tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    # EUR: current 500, 1–30 200, 61–90 120 drawn; 31–60 and 90+ empty (hand-worked in
    # test_receivables_section.py).
    bars = page.locator('svg[data-chart="receivables-aging-EUR"] rect.bar')
    heights = [float(bars.nth(i).get_attribute("height") or 0) for i in range(5)]
    assert [h > 0 for h in heights] == [True, True, False, True, False]
    assert heights[0] > heights[1] > heights[3]
    usd = page.locator('svg[data-chart="receivables-aging-USD"]')
    box = usd.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 50
    section = page.locator('section[data-section="receivables"]').inner_text()
    assert "DSO EUR" in section and "20.5 d" in section and "33.3 %" in section
    page.screenshot(path=str(tmp_path / "receivables.png"), full_page=True)
    page.close()


def _skipped(contract_id: str, field: str, reason: str, day: int) -> Handoff:
    """A row as `record_skipped` writes it for a contract a fire on `day` November skipped."""
    moment = datetime(2026, 11, day, 0, 5, tzinfo=UTC)
    return Handoff(
        key=f"{SKIPPED_PREFIX}{contract_id}/2026-11-{day:02d}/{field}",
        workflow_id=f"{SKIPPED_PREFIX}{contract_id}",
        run_id="fanout-run",
        step=Step.CALENDAR_SKIPPED,
        system="crm",
        outcome=Outcome.SKIPPED,
        reason_code=field,
        started_at=moment,
        finished_at=moment,
        detail=reason,
    )


def test_the_skipped_contracts_table_shows_each_contract_once_with_its_reason(
    browser: Browser, tmp_path: Path
) -> None:
    calendar = "q2c-calendar-monthly-calendar-day1-Europe_Berlin"
    skips = [
        _skipped("C-900", "bill_cycle_day", f"{calendar} on 2026-11-01: 0 is not a day", 1),
        _skipped("C-900", "bill_cycle_day", f"{calendar} on 2026-11-15: 0 is not a day", 15),
        _skipped("C-901", "time_zone", f"{calendar} on 2026-11-01: unknown time zone 'Mars'", 1),
    ]
    report = compute([*known_trail(), *skips], now=NOW, since=SINCE)
    assert report.runs == 10  # as without the skips (test_figures.py)
    path = write_html(report, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri())
    rows = page.locator("#skipped-contracts tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").all_inner_texts() == [
        "C-900",
        "bill_cycle_day",
        f"{calendar} on 2026-11-15: 0 is not a day",
        "2",
        "2026-11-15",
    ]
    assert "unknown time zone 'Mars'" in rows.nth(1).inner_text()
    section = page.locator("#skipped-contracts")
    box = section.bounding_box()
    assert box is not None and box["height"] > 50
    section.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "skipped.png"), full_page=True)
    assert (tmp_path / "skipped.png").stat().st_size > 10_000
    page.close()
