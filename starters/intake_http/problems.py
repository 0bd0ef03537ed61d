"""RFC 9457 problem details: one `type` per error class, served at the type's own path."""

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON pointer (RFC 6901) into the request body")
    detail: str


class Problem(BaseModel):
    """An error answer (RFC 9457); extension members name what the error concerns."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int
    title: str
    description: str

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


KINDS = {
    kind.slug: kind
    for kind in (
        Kind("malformed-request", 400, "Malformed request", "A header or parameter is unusable."),
        Kind(
            "unauthorized",
            401,
            "Bad signature",
            "The Standard Webhooks headers are missing, stale, or signed with no configured "
            "secret.",
        ),
        Kind("forbidden", 403, "Event type not allowed", "The source may not send this type."),
        Kind("not-found", 404, "Not found", "No such resource."),
        Kind("method-not-allowed", 405, "Method not allowed", "The path takes other methods."),
        Kind(
            "conflict",
            409,
            "Conflicting event",
            "The business key (or webhook id) was taken by another event with other content.",
        ),
        Kind("too-large", 413, "Body too large", "The body is over the limit."),
        Kind("unsupported-media-type", 415, "Not JSON", "Send `application/json`."),
        Kind("invalid-request", 422, "Invalid request", "A path or query parameter is invalid."),
        Kind("invalid-event", 422, "Invalid event", "The body does not validate; see `errors`."),
        Kind(
            "unsupported-version",
            422,
            "Unsupported schema version",
            "The event's `schema_version` is not one of `accepted_versions`.",
        ),
        Kind("rate-limited", 429, "Too many requests", "Retry after `Retry-After` seconds."),
        Kind("internal", 500, "Internal error", "A fault in the intake; it is logged."),
        Kind(
            "unavailable",
            503,
            "Temporal unavailable",
            "Nothing was accepted; retry the same delivery after `Retry-After` seconds.",
        ),
    )
}


class ProblemError(Exception):
    """Raised anywhere in a request; answered as problem+json."""

    def __init__(
        self,
        slug: str,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = KINDS[slug]
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions

    def problem(self) -> Problem:
        return Problem(
            type=self.kind.type,
            title=self.kind.title,
            status=self.kind.status,
            detail=self.detail,
            errors=self.errors,
            **self.extensions,
        )

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.problem().model_dump(mode="json", exclude_none=True),
            status_code=self.kind.status,
            media_type=MEDIA_TYPE,
            headers=self.headers,
        )
