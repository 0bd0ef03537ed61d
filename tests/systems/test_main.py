"""`python -m systems` serves on the configured port with the demo data."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_python_m_systems_starts_seeded_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "Q2C_SYSTEMS_HOST": "127.0.0.1",
        "Q2C_SYSTEMS_PORT": str(port),
        "Q2C_DATABASE_URL": f"sqlite:///{tmp_path / 'nested' / 'systems.db'}",
        "Q2C_SYSTEMS_TOKEN": "main-token",
    }
    env.pop("Q2C_SYSTEMS_FAULTS", None)
    env.pop("Q2C_SYSTEMS_SEED", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "systems"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "python -m systems did not start in 20 s"
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
        customer = httpx.get(
            f"{base}/crm/customers/CU-1001",
            headers={"Authorization": "Bearer main-token"},
            timeout=5,
        )
        assert (customer.status_code, customer.json()["name"]) == (200, "Acme Inc")
        assert httpx.get(f"{base}/crm/customers", timeout=5).status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert b"loaded the demo data" in stderr
