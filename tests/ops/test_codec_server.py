"""`q2c codec-server` over HTTP, as the Web UI and `temporal --codec-endpoint` call it.

The bodies are Temporal's JSON of `Payloads` (metadata values and data in base64), written
here by hand; the encrypted payloads are made and opened with AES-GCM directly, the way the
encryption sample does, not with q2c's codec.
"""

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload

from devstack.stack import answers_ok, free_port
from tests.encryption_keys import TEST_KEY, TEST_KEY_ID

UI_ORIGIN = "http://localhost:8233"
KEY = base64.b64decode(TEST_KEY)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@contextmanager
def codec_server(
    folder: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()
) -> Iterator[str]:
    """`q2c codec-server` on a free port with the tests' keys; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder / f"codec-{port}.log"
    full_env = {**os.environ, "Q2C_UI_URL": UI_ORIGIN, **(env or {})}
    argv = [sys.executable, "-m", "cli", "codec-server", "--port", str(port), *args]
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def alive() -> None:
            if process.poll() is not None:
                raise RuntimeError(f"codec server exited: {log.read_text()}")

        if not answers_ok(f"{url}/healthz", timeout=30, alive=alive):
            raise RuntimeError(f"codec server did not start: {log.read_text()}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with codec_server(tmp_path_factory.mktemp("codec")) as url:
        yield url


def _json_plain(value: object) -> dict[str, object]:
    return {
        "metadata": {"encoding": _b64(b"json/plain")},
        "data": _b64(json.dumps(value).encode()),
    }


def _sealed(key_id: str, key: bytes, value: object) -> dict[str, object]:
    inner = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    nonce = os.urandom(12)
    data = nonce + AESGCM(key).encrypt(nonce, inner.SerializeToString(), None)
    return {
        "metadata": {
            "encoding": _b64(b"binary/encrypted"),
            "encryption-key-id": _b64(key_id.encode()),
        },
        "data": _b64(data),
    }


def _post(url: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(
        url,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-Namespace": "default", **headers},
    )


def test_encode_answers_payloads_the_sample_can_open(server: str) -> None:
    response = _post(f"{server}/encode", {"payloads": [_json_plain({"approver": "cfo@x"})]})
    assert response.status_code == 200, response.text
    [payload] = response.json()["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"binary/encrypted"
    assert base64.b64decode(payload["metadata"]["encryption-key-id"]) == TEST_KEY_ID.encode()
    data = base64.b64decode(payload["data"])
    inner = Payload.FromString(AESGCM(KEY).decrypt(data[:12], data[12:], None))
    assert json.loads(inner.data) == {"approver": "cfo@x"}


def test_decode_opens_sealed_payloads_and_passes_plain_ones(server: str) -> None:
    body = {"payloads": [_sealed(TEST_KEY_ID, KEY, "Globex GmbH"), _json_plain("plain")]}
    response = _post(f"{server}/decode", body)
    assert response.status_code == 200, response.text
    values = [json.loads(base64.b64decode(p["data"])) for p in response.json()["payloads"]]
    assert values == ["Globex GmbH", "plain"]


def test_the_ui_origin_may_call_it_from_the_browser(server: str) -> None:
    for path in ("/decode", "/encode"):
        preflight = httpx.options(
            f"{server}{path}",
            headers={
                "Origin": UI_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
            },
        )
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert {"content-type", "x-namespace", "authorization"} <= set(allowed.split(", "))
    answer = _post(f"{server}/decode", {"payloads": []}, Origin="http://127.0.0.1:8233")
    assert answer.headers["access-control-allow-origin"] == "http://127.0.0.1:8233"


def test_another_origin_gets_no_cors_grant(server: str) -> None:
    preflight = httpx.options(
        f"{server}/decode",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    answer = _post(f"{server}/decode", {"payloads": []}, Origin="https://evil.example")
    assert "access-control-allow-origin" not in answer.headers


def test_bad_requests_are_refused_with_the_reason(server: str) -> None:
    not_json = httpx.post(
        f"{server}/decode", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert "not Temporal's Payloads JSON" in not_json.json()["detail"]
    not_utf8 = httpx.post(
        f"{server}/decode", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert not_utf8.status_code == 400
    assert "not Temporal's Payloads JSON" in not_utf8.json()["detail"]
    wrong_shape = _post(f"{server}/encode", {"payloads": "Globex GmbH"})
    assert wrong_shape.status_code == 400
    assert "payloads" in wrong_shape.json()["detail"]
    wrong_type = httpx.post(
        f"{server}/decode", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    assert "Content-Type" in wrong_type.json()["detail"]


def test_a_payload_under_an_unknown_key_is_refused_naming_the_key(server: str) -> None:
    response = _post(f"{server}/decode", {"payloads": [_sealed("retired-2020", KEY, "x")]})
    assert response.status_code == 422
    assert "key id 'retired-2020'" in response.json()["detail"]


def test_a_configured_token_is_required(tmp_path: Path) -> None:
    with codec_server(tmp_path, env={"Q2C_CODEC_TOKEN": "s3cret"}) as url:
        body = {"payloads": [_sealed(TEST_KEY_ID, KEY, "x")]}
        assert _post(f"{url}/decode", body).status_code == 401
        assert _post(f"{url}/decode", body, Authorization="Bearer nope").status_code == 401
        refused = _post(f"{url}/encode", body, Authorization="s3cret")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert _post(f"{url}/decode", body, Authorization="Bearer s3cret").status_code == 200


def test_namespaces_can_be_limited(tmp_path: Path) -> None:
    with codec_server(tmp_path, args=("--namespace", "billing")) as url:
        body: dict[str, list[object]] = {"payloads": []}
        assert _post(f"{url}/decode", body, **{"X-Namespace": "billing"}).status_code == 200
        other = _post(f"{url}/decode", body, **{"X-Namespace": "default"})
        assert other.status_code == 403
        assert "'default'" in other.json()["detail"]


def test_it_refuses_to_start_without_usable_keys(tmp_path: Path) -> None:
    env = {**os.environ, "Q2C_ENCRYPTION_KEYS": '{"k1": "c2hvcnQ="}'}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "codec-server", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "Q2C_ENCRYPTION_KEYS: key 'k1' is 5 bytes; AES-256 needs 32" in done.stderr
