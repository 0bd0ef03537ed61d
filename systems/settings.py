"""Settings of the systems service, read from `Q2C_SYSTEMS_*` environment variables."""

from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from systems.faults import FaultRule, parse_rules


class SystemsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="Q2C_SYSTEMS_", extra="ignore", validate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    database_url: str = Field(
        default="sqlite:///.q2c/systems.db",
        # The database URL is shared with the rest of the dev stack, hence the unprefixed name.
        validation_alias=AliasChoices("Q2C_DATABASE_URL", "Q2C_SYSTEMS_DATABASE_URL"),
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema to keep the tables in (created if missing)"
    )
    token: str = Field(default="q2c-dev-token", min_length=1)
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="A larger request body is refused with 413"
    )
    seed: bool = Field(default=True, description="Load the demo data when the database is empty")
    faults: Annotated[list[FaultRule], BeforeValidator(parse_rules)] = Field(
        default_factory=list, description="Faults active from the start (JSON: a rule or a list)"
    )
