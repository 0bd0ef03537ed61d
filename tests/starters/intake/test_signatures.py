"""Standard Webhooks signatures: the spec's published vector, and q2c's verification against the
`standardwebhooks` library's on generated deliveries."""

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from starters.intake_http.signatures import SignatureError, sign, verify

# Published by the Standard Webhooks specification (libraries' test suites and the spec's
# "verifying" guide): this secret, id, timestamp and body sign to this header value.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(
    signature: str, *, webhook_id: str = VECTOR_ID, stamp: int = VECTOR_TIMESTAMP
) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }


def test_signing_the_published_vector_gives_the_published_signature() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_published_vector_verifies_at_its_own_time_and_names_its_source() -> None:
    signed = verify(
        _headers(f"v1,bm9wZQ== {VECTOR_SIGNATURE}"),
        VECTOR_BODY,
        secrets={"other": ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"], "crm": [VECTOR_SECRET]},
        now=VECTOR_TIMESTAMP + 299,
    )
    assert (signed.source, signed.webhook_id, signed.timestamp) == (
        "crm",
        VECTOR_ID,
        VECTOR_TIMESTAMP,
    )


@pytest.mark.parametrize(
    ("headers", "body", "now", "reason"),
    [
        (_headers(VECTOR_SIGNATURE), VECTOR_BODY, VECTOR_TIMESTAMP + 301, "more than 300 seconds"),
        (_headers(VECTOR_SIGNATURE), VECTOR_BODY, VECTOR_TIMESTAMP - 301, "more than 300 seconds"),
        (
            _headers(VECTOR_SIGNATURE),
            b'{"test": 2432232315}',
            VECTOR_TIMESTAMP,
            "no signature matches",
        ),
        (
            _headers(VECTOR_SIGNATURE, webhook_id="msg_x"),
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "no signature",
        ),
        (_headers("v1,not base64!"), VECTOR_BODY, VECTOR_TIMESTAMP, "no v1 signature"),
        (_headers("g0hM9SsE"), VECTOR_BODY, VECTOR_TIMESTAMP, "no v1 signature"),
        (
            {"webhook-id": VECTOR_ID},
            VECTOR_BODY,
            VECTOR_TIMESTAMP,
            "missing header: webhook-timestamp",
        ),
        (
            _headers(VECTOR_SIGNATURE) | {"webhook-timestamp": "-5"},
            VECTOR_BODY,
            0,
            "not an integer",
        ),
        (_headers(VECTOR_SIGNATURE), b"\xff", VECTOR_TIMESTAMP, "not UTF-8"),
    ],
)
def test_each_refusal_says_why(headers: dict[str, str], body: bytes, now: int, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(headers, body, secrets={"crm": [VECTOR_SECRET]}, now=now)


_secrets = st.binary(min_size=24, max_size=64).map(
    lambda key: "whsec_" + base64.b64encode(key).decode()
)
_ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
_bodies = st.text(max_size=300).map(str.encode)


def _library_accepts(secret: str, headers: dict[str, str], body: bytes) -> bool:
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def _q2c_accepts(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    try:
        verify(headers, body, secrets={"source": [secret]}, now=now)
    except SignatureError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    secret=_secrets,
    other=_secrets,
    webhook_id=_ids,
    body=_bodies,
    skew=st.sampled_from([-3600, -290, -10, 0, 10, 290, 3600]),
    tamper=st.sampled_from(["none", "body", "id", "secret", "signature"]),
)
def test_q2c_and_the_library_agree_on_generated_deliveries(
    secret: str, other: str, webhook_id: str, body: bytes, skew: int, tamper: str
) -> None:
    now = time.time()
    stamp = int(now) + skew  # skews sit 10 s clear of the 300 s edge: both clocks read "now"
    signer = other if tamper == "secret" and other != secret else secret
    signature = Webhook(signer).sign(
        webhook_id, datetime.fromtimestamp(stamp, tz=UTC), body.decode()
    )
    if tamper == "signature":
        signature = signature[:-4] + ("AAA=" if not signature.endswith("AAA=") else "BBB=")
    headers = _headers(signature, webhook_id=webhook_id, stamp=stamp)
    sent = body + b" " if tamper == "body" else body
    if tamper == "id":
        headers["webhook-id"] = webhook_id + "x"
    assert _q2c_accepts(secret, headers, sent, now) == _library_accepts(secret, headers, sent)
