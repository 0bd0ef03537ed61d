"""Bounds on what a person's input may make q2c store: every payload a run creates (its
status, current details, result, search attributes, activity inputs) stays far below
Temporal's limits (2 MB a payload, 4 MB a gRPC message) whatever was sent to it.

A text longer than its bound is cut and marked with its length and SHA-256, so the cut is
visibly a cut and can be matched with the whole, which the audit trail keeps
(workflows/whole_input.py); lists that grow with input keep their last entries and a count."""

import hashlib

NAME_CHARS = 320
"""An approver's or sender's e-mail (RFC 5321 caps an address at 254 octets; the audit
trail's column holds 320)."""
TEXT_CHARS = 400
"""A comment, a reason, a cause, the text of a refused input: with its cut mark (at most 100
characters for any payload Temporal accepts) it fits the audit trail's 500-character detail,
so the trail keeps the whole's length and hash too."""
KEPT_REFUSALS = 20
"""Refused attempts kept on a run; `refused_count` counts them all."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cut(text: str, limit: int = TEXT_CHARS) -> str:
    """`text` itself when it fits; else its first `limit` characters and a mark naming its
    length and SHA-256."""
    if len(text) <= limit:
        return text
    whole = text.encode("utf-8", errors="surrogatepass")
    return f"{text[:limit]}… [cut: {len(text)} characters, sha256 {digest(whole)}]"


def cut_bytes(data: bytes, limit: int = TEXT_CHARS) -> str:
    """Raw input as text, cut like `cut`: what a refusal shows of a payload."""
    shown = str(data[:limit], "utf-8", errors="replace")
    if len(data) <= limit:
        return shown
    return f"{shown}… [cut: {len(data)} bytes, sha256 {digest(data)}]"


def too_long(field: str, value: str, limit: int) -> str | None:
    """Why `value` may not be kept as `field` (it names someone, so it is not cut), or None."""
    if len(value) > limit:
        return f"{field}: longer than {limit} characters ({len(value)})"
    return None
