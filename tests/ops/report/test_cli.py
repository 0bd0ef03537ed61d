"""`q2c report` against an audit database on disk, in each format."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import build_app
from tests.ops.report.trail import known_trail
from workers.audit.store import AuditStore

runner = CliRunner()


@pytest.fixture
def audit_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    store = AuditStore(url=url)
    store.create()
    store.record(known_trail())
    store.dispose()
    monkeypatch.setenv("Q2C_AUDIT_DATABASE_URL", url)
    return url


def test_json_has_the_hand_worked_figures(audit_url: str) -> None:
    result = runner.invoke(build_app(), ["report", "--since", "2026-11-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert (figures["runs"], figures["posted"], figures["open"]) == (10, 3, 4)
    assert figures["straight_through"]["rate"] == 0.2
    assert figures["cycle_time"]["median_seconds"] == 3600


def test_table_names_every_section(audit_url: str) -> None:
    result = runner.invoke(build_app(), ["report", "--since", "2026-11-01"])
    assert result.exit_code == 0, result.output
    for heading in (
        "straight-through rate",
        "first-pass accuracy",
        "cycle time by product line",
        "exceptions",
        "integration incidents",
        "open items by age",
    ):
        assert heading in result.output, heading


def test_html_goes_to_the_file_named(audit_url: str, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.html"
    result = runner.invoke(build_app(), ["report", "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    for chart in ("cycle-time", "exceptions", "aging"):
        assert f'data-chart="{chart}"' in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_a_bad_since_names_the_option(audit_url: str) -> None:
    result = runner.invoke(build_app(), ["report", "--since", "November"])
    assert result.exit_code == 2
    assert "--since" in result.output
    assert "YYYY-MM-DD" in result.output


def test_an_unknown_format_is_refused(audit_url: str) -> None:
    result = runner.invoke(build_app(), ["report", "--format", "pdf"])
    assert result.exit_code == 2
    assert "--format" in result.output


def test_an_empty_trail_still_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_AUDIT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = runner.invoke(build_app(), ["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["runs"] == 0
