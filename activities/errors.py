"""The error taxonomy, in one place.

    failure of a call to a system
     ├─ permanent  → ApplicationError(non_retryable=True, type=<ReasonCode>)
     │    401/403 configuration · 404 not found · 409 conflict · other 4xx bad request
     │    (a card decline, 402, is not a failure: the payment activities return it)
     │    · validation of what we received or computed
     ├─ throttled  → ApplicationError(type="throttled", next_retry_delay=Retry-After)
     │    429, and 503 when it says Retry-After
     └─ transient  → ApplicationError(type="transient"), retried with backoff
          other 5xx · httpx.TimeoutException · httpx.TransportError (raised as is)

A permanent failure ends the run in needs-attention with its reason code; Temporal retries
the rest until the system is back.
"""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from temporalio.exceptions import ApplicationError

from schemas.errors import ReasonCode

THROTTLED = "throttled"
TRANSIENT = "transient"


def permanent(code: ReasonCode | str, message: str, *details: object) -> ApplicationError:
    return ApplicationError(message, *details, type=str(code), non_retryable=True)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]


def _retry_after(response: httpx.Response, *, now: datetime | None = None) -> timedelta | None:
    """Retry-After in seconds or as an HTTP date (RFC 9110); None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return timedelta(seconds=max(seconds, 0.0))


def raise_for_status(
    response: httpx.Response,
    *,
    system: str,
    not_found: ReasonCode = ReasonCode.BAD_REQUEST,
    conflict: ReasonCode = ReasonCode.POSTING_CONFLICT,
) -> None:
    """Map an HTTP response to the taxonomy; return quietly on 2xx."""
    status = response.status_code
    if status < 400:
        return
    where = f"{system} {response.request.method} {response.request.url.path}"
    detail = _detail(response)
    if status in (401, 403):
        raise permanent(
            ReasonCode.CONFIGURATION,
            f"{where} refused our credentials ({status}): check Q2C_SYSTEMS_TOKEN",
        )
    if status == 404:
        raise permanent(not_found, f"{where}: not found: {detail}")
    if status == 409:
        raise permanent(conflict, f"{where}: conflict: {detail}")
    if status in (429, 503):
        delay = _retry_after(response)
        if delay is not None:
            raise ApplicationError(
                f"{where}: {status}, retry after {delay.total_seconds():g}s",
                type=THROTTLED,
                next_retry_delay=delay,
            )
    if status < 500 and status != 429:
        raise permanent(ReasonCode.BAD_REQUEST, f"{where}: {status}: {detail}")
    raise ApplicationError(f"{where}: {status}: {detail}", type=TRANSIENT)
