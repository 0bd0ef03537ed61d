"""Standard Webhooks signatures: HMAC-SHA256 over `id.timestamp.body`, `whsec_` secrets.

The `standardwebhooks` package computes each signature. What is q2c's own: several secrets
per source (rotation), finding which source signed, a clock passed in, and a reason for
every refusal instead of one exception for all of them.
"""

import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

TOLERANCE_SECONDS = 5 * 60
MAX_ID_LENGTH = 255


class SignatureError(ValueError):
    """The request is not signed by any configured source; the message says why."""


@dataclass(frozen=True)
class Signed:
    source: str
    webhook_id: str
    timestamp: int


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value (`v1,<base64>`) for one secret."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return Webhook(secret).sign(webhook_id, moment, body.decode())


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


def _offered(header: str) -> list[bytes]:
    """The `v1` signatures in the header (space-separated `version,base64`); others skipped."""
    found = []
    for item in header.split(" "):
        version, comma, value = item.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, Sequence[str]],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> Signed:
    """Which source signed this request, or SignatureError naming what is wrong."""
    lower = {key.lower(): value for key, value in headers.items()}
    webhook_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    header = lower.get("webhook-signature", "")
    missing = [
        name
        for name, value in (
            ("webhook-id", webhook_id),
            ("webhook-timestamp", stamp),
            ("webhook-signature", header),
        )
        if not value
    ]
    if missing:
        raise SignatureError(f"missing header: {', '.join(missing)}")
    if len(webhook_id) > MAX_ID_LENGTH:
        raise SignatureError(f"webhook-id: longer than {MAX_ID_LENGTH} characters")
    if not stamp.isascii() or not stamp.isdigit():
        raise SignatureError("webhook-timestamp: not an integer number of seconds")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(
            f"webhook-timestamp: {timestamp} is more than {tolerance} seconds from now"
        )
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise SignatureError("body: not UTF-8, so not signable") from None
    offered = _offered(header)
    if not offered:
        raise SignatureError("webhook-signature: no v1 signature in the header")
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    for source, keys in secrets.items():
        for secret in keys:
            expected = Webhook(secret).sign(webhook_id, moment, text).partition(",")[2]
            digest = base64.b64decode(expected)
            if any(hmac.compare_digest(digest, candidate) for candidate in offered):
                return Signed(source=source, webhook_id=webhook_id, timestamp=timestamp)
    raise SignatureError("webhook-signature: no signature matches a configured secret")
