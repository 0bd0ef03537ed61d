"""The worker's delivery settings: the SMTP URL is checked at start, and the delivery
activities come with a delivery log."""

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from temporalio import activity

from devstack.stack import DevStack, Ports
from workers.delivery_log import DeliveryLogStore
from workers.settings import Settings
from workers.worker import activities_for


def _names(settings: Settings, **kwargs: object) -> set[str]:
    found = activities_for(http=httpx.AsyncClient(), settings=settings, **kwargs)  # type: ignore[arg-type]
    return {str(activity._Definition.must_from_callable(fn).name) for fn in found}


def test_the_default_is_the_dev_stacks_outbox() -> None:
    target = Settings().smtp_target
    assert (target.host, target.port, target.security) == ("127.0.0.1", 8425, "none")


def test_the_url_comes_from_the_environment_with_the_ca_file_and_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("Q2C_SMTP_URL", "smtps://ap:pw@mail.example")
    monkeypatch.setenv("Q2C_SMTP_CA_FILE", "/etc/q2c/relay-ca.pem")
    monkeypatch.setenv("Q2C_SMTP_TIMEOUT_SECONDS", "12")
    monkeypatch.setenv("Q2C_SMTP_SENDER", "invoices@seller.example")
    settings = Settings()
    target = settings.smtp_target
    assert (target.host, target.port, target.security, target.username) == (
        "mail.example",
        465,
        "tls",
        "ap",
    )
    assert (target.ca_file, target.timeout_seconds) == ("/etc/q2c/relay-ca.pem", 12.0)
    assert settings.smtp_sender == "invoices@seller.example"
    assert "pw" not in repr(settings)


def test_a_bad_smtp_url_stops_the_worker_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("Q2C_SMTP_URL", "smtp://u:secret@mail.example?starttls=off")
    with pytest.raises(ValidationError) as refused:
        Settings()
    [error] = refused.value.errors()
    assert error["loc"] == ("smtp_url",)
    assert "Q2C_SMTP_URL: a login over starttls=off would send the password in clear" in str(
        error["msg"]
    )
    assert "secret" not in str(refused.value)


def test_a_bad_sender_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("Q2C_SMTP_SENDER", "billing@@seller")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert refused.value.errors()[0]["loc"] == ("smtp_sender",)


def test_delivery_is_registered_with_a_delivery_log(tmp_path: Path) -> None:
    assert not {"send_email", "send_peppol"} & _names(Settings())
    log = DeliveryLogStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    assert {"send_email", "send_peppol"} <= _names(Settings(), delivery_log=log)
    log.dispose()


def test_the_dev_stack_points_the_worker_at_its_outbox(tmp_path: Path) -> None:
    stack = DevStack(home=tmp_path, ports=Ports.random())
    env = stack.env()
    settings = Settings(smtp_url=env["Q2C_SMTP_URL"])
    target = settings.smtp_target
    assert (target.host, target.port, target.security) == ("127.0.0.1", stack.ports.outbox, "none")
