"""Fault rules given at start (`Q2C_SYSTEMS_FAULTS`) or through `/admin/faults` hold after
the systems service restarts, until they are cleared: `python -m systems` on a loopback
port, restarted on the same database."""

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import SystemsService


def _get(service: SystemsService, path: str) -> httpx.Response:
    return httpx.get(
        f"{service.url}{path}", headers={"Authorization": f"Bearer {service.token}"}, timeout=10
    )


def test_faults_given_at_start_and_set_later_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SystemsService.in_folder(tmp_path)
    monkeypatch.setenv("Q2C_SYSTEMS_FAULTS", json.dumps({"system": "crm", "error_rate": 1}))
    service.start()
    try:
        assert _get(service, "/crm/customers").status_code == 500
        set_later = {"system": "erp", "unavailable_rate": 1, "retry_after_seconds": 2}
        headers = {"Authorization": f"Bearer {service.token}"}
        put = httpx.put(f"{service.url}/admin/faults", json=set_later, headers=headers)
        assert put.status_code == 200, put.text
    finally:
        service.stop()

    monkeypatch.delenv("Q2C_SYSTEMS_FAULTS")
    service.start()
    try:
        rules = {r["system"]: r for r in _get(service, "/admin/faults").json()["faults"]}
        assert sorted(rules) == ["crm", "erp"]
        assert rules["crm"]["error_rate"] == 1 and rules["erp"]["unavailable_rate"] == 1
        assert _get(service, "/crm/customers").status_code == 500
        unavailable = _get(service, "/erp/journal/totals")
        assert (unavailable.status_code, unavailable.headers["retry-after"]) == (503, "2")
        cleared = httpx.delete(
            f"{service.url}/admin/faults", headers={"Authorization": f"Bearer {service.token}"}
        )
        assert cleared.json() == {"faults": []}
    finally:
        service.stop()

    service.start()
    try:
        assert _get(service, "/admin/faults").json() == {"faults": []}
        assert _get(service, "/crm/customers").status_code == 200
    finally:
        service.stop()


def test_faults_given_at_start_replace_the_kept_rule_of_their_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = SystemsService.in_folder(tmp_path)
    monkeypatch.setenv("Q2C_SYSTEMS_FAULTS", json.dumps({"system": "usage", "error_rate": 1}))
    service.start()
    service.stop()
    monkeypatch.setenv("Q2C_SYSTEMS_FAULTS", json.dumps([{"system": "usage", "latency_ms": 5}]))
    service.start()
    try:
        [rule] = _get(service, "/admin/faults").json()["faults"]
        assert (rule["system"], rule["error_rate"], rule["latency_ms"]) == ("usage", 0, 5)
    finally:
        service.stop()
