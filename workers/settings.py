"""Settings from the environment.

The Temporal connection follows Temporal's own variables (`TEMPORAL_ADDRESS`,
`TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`, or a `temporal.toml` profile),
read by the SDK's envconfig; everything else is `Q2C_*`.
"""

import re
from pathlib import Path

from pydantic import EmailStr, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.smtp import SmtpTarget, parse_smtp_url

DEV_SMTP_URL = "smtp://127.0.0.1:8425?starttls=off"
"""The dev stack's outbox (python -m systems.outbox)."""

DEV_SYSTEMS_TOKEN = "q2c-dev-token"
"""The embedded systems' token, for a local stack only (the systems service has its own copy:
it shares no code with q2c)."""


_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_BUILD = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def _version_part(value: str | None, *, allowed: re.Pattern[str], what: str) -> str | None:
    """A deployment name or build id; empty means unset."""
    if not value:
        return None
    if not allowed.fullmatch(value):
        raise ValueError(f"only {what}, at most 255 characters")
    return value


class Settings(BaseSettings):
    # Inputs stay out of error messages: some settings carry passwords (Q2C_SMTP_URL).
    model_config = SettingsConfigDict(env_prefix="Q2C_", extra="ignore", hide_input_in_errors=True)

    task_queue: str = "q2c"
    seller_time_zone: str = Field(
        default="Europe/Berlin",
        description="The IANA zone of the seller's books: billing days (a contract may name its "
        "own), a document's billing month, the recognition run on the 1st of each month",
    )
    calendar_starts_per_second: float = Field(
        default=20.0, gt=0, description="How fast a calendar's fire starts billing runs"
    )
    calendar_catchup_days: int = Field(
        default=7, ge=1, le=365, description="How late a missed calendar fire is still run"
    )
    calendar_page_size: int = Field(
        default=200, ge=1, le=1000, description="Contracts read per page of a calendar's fire"
    )
    home: Path = Field(default=Path(".q2c"), description="Where the dev stack keeps its files")
    systems_url: str = "http://127.0.0.1:8400"
    systems_token: SecretStr = SecretStr(DEV_SYSTEMS_TOKEN)
    ui_url: str = "http://localhost:8233"
    http_timeout_seconds: float = 10.0
    http_max_connections: int = 100
    approval_timeout_seconds: int = Field(default=7 * 24 * 3600, gt=0)
    # Who issues the invoices; what is unset is the demo seller's (billing.tax.Seller).
    seller_name: str | None = None
    seller_country: str | None = None
    seller_subdivision: str | None = None
    seller_tax_id: str | None = None
    seller_street: str | None = None
    seller_city: str | None = None
    seller_postal_code: str | None = None
    seller_email: str | None = None
    seller_phone: str | None = None
    seller_legal_registration: str | None = None
    seller_electronic_address: str | None = Field(
        default=None, description="Peppol participant id (scheme:value); empty uses the e-mail"
    )
    seller_iban: str | None = None
    seller_bic: str | None = None
    seller_bank_name: str | None = None
    seller_registrations: list[str] | None = Field(
        default=None,
        description='Where the seller collects tax (JSON list, e.g. ["EU-OSS", "GB", "US-NY"])',
    )
    vies_enabled: bool = Field(
        default=False, description="Check EU VAT numbers online (VIES) before billing"
    )
    vies_url: str = "https://ec.europa.eu/taxation_customs/vies/rest-api"
    vies_block_unverified: bool = Field(
        default=False, description="Block a run when VIES cannot be reached (else a warning)"
    )
    tax_engine_url: str = Field(
        default="", description="An external tax engine's URL; empty uses the built-in table"
    )
    max_concurrent_activities: int = 200
    max_concurrent_workflow_tasks: int = 100
    max_cached_workflows: int = 2000
    workflow_task_pollers: int = Field(default=5, ge=1)
    activity_task_pollers: int = Field(default=5, ge=1)
    sticky_schedule_to_start_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a run's next workflow task waits for this worker (which holds "
        "the run in its cache) before any worker may take it with the whole history",
    )
    render_processes: int = Field(
        default=1,
        ge=0,
        description="Processes beside the worker that render and check e-invoices, so that "
        "work runs on another core than the workflow tasks; 0: in the worker's own threads",
    )
    graceful_shutdown_seconds: float = 30.0
    retry_delay_cap_seconds: float | None = Field(
        default=None,
        gt=0,
        description="At most this long between tries of a failed call (a fault drill on a dev "
        "stack); unset: the runs' retry policy, 1 s doubling up to 60 s (workers/retry_cap.py)",
    )
    connect_timeout_seconds: float = Field(
        default=60.0, ge=0, description="How long a starting worker waits for Temporal"
    )
    audit_database_url: str = Field(
        default="", description="q2c's audit trail; default: a SQLite file under `home`"
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="Serve Temporal SDK metrics for Prometheus"
    )
    metrics_host: str = "127.0.0.1"
    smtp_url: SecretStr = Field(
        default=SecretStr(DEV_SMTP_URL),
        description="smtp://user:password@host:587 (STARTTLS, then login), smtps://… (TLS), "
        "or smtp://host:port?starttls=off (a local server, no login)",
    )
    smtp_sender: EmailStr = Field(
        default="billing@q2c.example", description="From address of the documents sent"
    )
    smtp_ca_file: str = Field(
        default="", description="CA bundle to trust for the SMTP server; empty: the system's"
    )
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    encryption: bool = Field(
        default=True,
        description="Encrypt every payload sent to Temporal (off: plaintext, an explicit choice)",
    )
    compression: bool = Field(
        default=True,
        description="Compress a payload before encrypting it when that makes it smaller "
        "(binary/zlib, as the Go SDK's ZlibCodec); payloads read either way",
    )
    encryption_keys: SecretStr | None = Field(
        default=None,
        description='Key set as JSON {"key-id": "<base64 of 32 bytes>"}; the last encrypts',
    )
    encryption_key_file: Path | None = Field(
        default=None, description="A file with the key set; default: Q2C_HOME/encryption-keys.json"
    )
    encryption_key_id: str | None = Field(
        default=None, description="The key that encrypts; default: the last in the key set"
    )
    codec_host: str = "127.0.0.1"
    codec_port: int = Field(default=8235, ge=1, le=65535)
    codec_token: SecretStr | None = Field(
        default=None, description="Bearer token the codec server requires; none: no check"
    )
    codec_cors_origins: list[str] | None = Field(
        default=None,
        description="Web UI origins allowed to call the codec server (JSON list); "
        "default: Q2C_UI_URL's origin",
    )
    deployment_name: str | None = Field(
        default=None,
        description="Worker Versioning: the worker deployment this worker belongs to; "
        "unset: an unversioned worker",
    )
    build_id: str | None = Field(
        default=None,
        validate_default=True,
        description="Worker Versioning: this worker's build within the deployment",
    )

    @field_validator("deployment_name")
    @classmethod
    def _deployment_name(cls, value: str | None) -> str | None:
        # Temporal writes a version as "name.build" in some APIs: no dot in the name.
        return _version_part(value, allowed=_NAME, what="letters, digits, '-' and '_'")

    @field_validator("build_id")
    @classmethod
    def _build_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        build = _version_part(value, allowed=_BUILD, what="letters, digits, '-', '_' and '.'")
        named = info.data.get("deployment_name") is not None
        if named and build is None:
            raise ValueError("Q2C_DEPLOYMENT_NAME is set: name this worker's build as well")
        if build is not None and not named and "deployment_name" in info.data:
            raise ValueError("a build id needs Q2C_DEPLOYMENT_NAME as well")
        return build

    @property
    def versioned(self) -> bool:
        return self.deployment_name is not None

    @field_validator("seller_time_zone")
    @classmethod
    def _known_time_zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return name

    @field_validator("smtp_url")
    @classmethod
    def _usable_smtp_url(cls, url: SecretStr) -> SecretStr:
        parse_smtp_url(url.get_secret_value())  # SmtpUrlError is a ValueError naming the setting
        return url

    @property
    def smtp_target(self) -> SmtpTarget:
        target = parse_smtp_url(self.smtp_url.get_secret_value())
        return target.model_copy(
            update={
                "ca_file": self.smtp_ca_file or None,
                "timeout_seconds": self.smtp_timeout_seconds,
            }
        )

    @property
    def codec_url(self) -> str:
        return f"http://{self.codec_host}:{self.codec_port}"

    @property
    def cors_origins(self) -> list[str]:
        if self.codec_cors_origins is not None:
            return self.codec_cors_origins
        from urllib.parse import urlsplit

        parts = urlsplit(self.ui_url)
        origins = [f"{parts.scheme}://{parts.netloc}"]
        # The same UI is reached as localhost or 127.0.0.1, and the browser sends what was typed.
        for one, other in (("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")):
            if parts.hostname == one:
                origins.append(f"{parts.scheme}://{parts.netloc.replace(one, other, 1)}")
        return origins

    @property
    def audit_url(self) -> str:
        return self.audit_database_url or f"sqlite:///{self.home / 'audit.db'}"

    def ui_link(self, workflow_id: str, *, namespace: str = "default") -> str:
        from urllib.parse import quote

        return f"{self.ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
