"""`q2c calendar sync|list|fire` against the dev server and the systems service."""

import asyncio
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from cli import build_app
from ops.calendar import schedule_ids
from tests.conftest import SystemsService

pytestmark = [pytest.mark.asyncio(loop_scope="session")]


def _env(
    monkeypatch: pytest.MonkeyPatch, env: WorkflowEnvironment, systems: SystemsService
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("Q2C_SYSTEMS_URL", systems.url)
    monkeypatch.setenv("Q2C_SYSTEMS_TOKEN", systems.token)


async def _q2c(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, build_app(), list(args))


async def _put(http: httpx.AsyncClient, contract_id: str, **terms: Any) -> None:
    seeded = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
    body = {**seeded, "id": contract_id, "effective_from": None, **terms}
    assert (await http.put(f"/crm/contracts/{contract_id}", json=body)).status_code == 201


async def test_sync_creates_a_schedule_per_calendar_and_list_shows_them_with_skips(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, dev_server_env, systems)
    tag = uuid.uuid4().hex[:6]
    async with systems.client() as http:
        await _put(http, f"C-CLI-{tag}-zone", time_zone="Atlantis/Capital")
    try:
        synced = await _q2c("calendar", "sync")
        assert synced.exit_code == 0, synced.output
        # The seeded contracts: monthly ones and C-1017, quarterly, both on the 1st in Berlin.
        monthly = "q2c-calendar-monthly-calendar-day1-Europe_Berlin"
        quarterly = "q2c-calendar-quarterly-calendar-day1-Europe_Berlin"
        ids = await schedule_ids(dev_server_env.client)
        assert {monthly, quarterly} <= set(ids)
        assert f"skipped C-CLI-{tag}-zone: time_zone: unknown time zone" in synced.output
        again = await _q2c("calendar", "sync")
        assert f"updated {monthly}" in again.output
        listed = await _q2c("calendar", "list")
        assert listed.exit_code == 0, listed.output
        assert "monthly, calendar, day 1, Europe/Berlin" in listed.output
        assert f"skipped C-CLI-{tag}-zone" in listed.output
        handle = dev_server_env.client.get_schedule_handle(quarterly)
        described = await handle.describe()
        # 00:05 in Berlin on the first of January, April, July and October (23:05 or 22:05 UTC
        # the day before).
        local = [t.astimezone(ZoneInfo("Europe/Berlin")) for t in described.info.next_action_times]
        assert local and all(
            (t.month in (1, 4, 7, 10), t.day, t.hour, t.minute) == (True, 1, 0, 5) for t in local
        )
    finally:
        for schedule_id in await schedule_ids(dev_server_env.client):
            await dev_server_env.client.get_schedule_handle(schedule_id).delete()


async def test_fire_names_an_unknown_calendar_and_a_bad_day(
    dev_server_env: WorkflowEnvironment,
    systems: SystemsService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _env(monkeypatch, dev_server_env, systems)
    unknown = await _q2c("calendar", "fire", "q2c-calendar-weekly-nowhere")
    assert unknown.exit_code == 1
    assert "schedule_id: no contract follows 'q2c-calendar-weekly-nowhere'" in unknown.output
    bad_day = await _q2c("calendar", "fire", "x", "--day", "31.10.2026")
    assert bad_day.exit_code == 1
    assert "--day: '31.10.2026' is not a date" in bad_day.output
