"""The intake's settings, from `Q2C_*` variables like the rest of q2c."""

import base64
import binascii
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.wire import CONTRACT_TYPES, EVENT_TYPES, PAYMENT_TYPES

DEV_SECRETS: dict[str, list[str]] = {
    "crm": ["whsec_yDUoVfZ1DfKygLQ1oTZl9+jWdBm9kfNV"],
    "usage": ["whsec_M61FYOrigcsJK9ht4CXWbapH8XOjT+Hc"],
    "payments": ["whsec_kPl8aVUgWP2lXTskSQ9F0GsxS8ZBFjd3"],
    "bank": ["whsec_Qoik/f+7iQ8jBPBfkym1ydgI1v76KjFc"],
}
"""For the dev stack only, like the systems' dev token: production sets its own."""

DEFAULT_SCOPES: dict[str, list[str]] = {
    "crm": list(CONTRACT_TYPES),
    "usage": ["usage.period_closed", "billing_cycle.closed"],
    "payments": list(PAYMENT_TYPES),
    "bank": ["payment.succeeded", "payment.refunded"],
}


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore")

    webhook_secrets: dict[str, list[str]] = Field(
        default=DEV_SECRETS,
        description='Signing secrets per source, several for rotation: {"crm": ["whsec_..."]}',
    )
    webhook_scopes: dict[str, list[str]] = Field(
        default=DEFAULT_SCOPES, description="The event types each source may send"
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    intake_host: str = "127.0.0.1"
    intake_port: int = Field(default=8410, ge=0, le=65535)
    intake_rate_per_second: float = Field(
        default=500.0, gt=0, description="Requests per second each source may send"
    )
    intake_rate_burst: int = Field(default=1000, ge=1)
    intake_max_batch: int = Field(default=100, ge=1, le=1000)
    intake_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="A larger body is refused with 413"
    )
    intake_temporal_timeout_seconds: float = Field(default=10.0, gt=0)
    intake_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After of a 503 while Temporal is unreachable"
    )
    task_queue: str = "q2c"
    approval_timeout_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    home: Path = Path(".q2c")
    audit_database_url: str = ""

    @property
    def database_url(self) -> str:
        """q2c's own database: the audit trail's."""
        return self.audit_database_url or f"sqlite:///{self.home / 'audit.db'}"

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_whsec(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, secrets in value.items():
            if not secrets:
                raise ValueError(f"webhook_secrets.{source}: no secret")
            for index, secret in enumerate(secrets):
                where = f"webhook_secrets.{source}[{index}]"
                if not secret.startswith("whsec_"):
                    raise ValueError(f"{where}: must start with whsec_")
                try:
                    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
                except binascii.Error:
                    raise ValueError(f"{where}: not base64 after whsec_") from None
                if len(key) < 24:
                    raise ValueError(f"{where}: shorter than 24 bytes")
        return value

    @field_validator("webhook_scopes")
    @classmethod
    def _scopes_are_types(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for source, types in value.items():
            unknown = sorted(set(types) - set(EVENT_TYPES))
            if unknown:
                raise ValueError(f"webhook_scopes.{source}: unknown event types {unknown}")
        return value
