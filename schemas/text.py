"""The shapes of text and numbers a sender may put in an event, with their limits.

Ids end up in URL paths, workflow ids and database keys: a pattern and a length keep them
safe there, and `.` and `..` are refused because a URL resolves them as path segments. Every
string has a maximum length, so input too large for the history is refused with its field
named, never carried to Temporal. A NUL character is refused everywhere: PostgreSQL cannot
store one in text.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

ID_PATTERN = r"^[A-Za-z0-9_.-]+$"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]+$"
"""A key may also hold ':' (posting keys are `q2c:<contract>:<reason>:...`)."""


def not_a_dot_segment(value: str) -> str:
    if value in (".", ".."):
        raise ValueError(f"{value!r} is not an id (a URL reads it as a path segment)")
    return value


def no_control_characters(value: str) -> str:
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in value):
        raise ValueError("must not contain control characters (such as NUL or a line break)")
    return value


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


def exact_int(value: Any) -> Any:
    """Refuse 1.0 and true where an integer is meant: JSON tells them apart, so must we."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"must be an integer, not {type(value).__name__} {value!r}")
    return value


Id = Annotated[
    str, Field(min_length=1, max_length=100, pattern=ID_PATTERN), AfterValidator(not_a_dot_segment)
]
"""A contract or milestone id: letters, digits, `_`, `.`, `-`; at most 100 characters."""

Key = Annotated[
    str, Field(min_length=1, max_length=200, pattern=KEY_PATTERN), AfterValidator(not_a_dot_segment)
]
"""A provider's or ERP's reference: an id that may also hold `:`; at most 200 characters."""

EventId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_control_characters)]
"""The sender's id of an event: any printable text up to 200 characters."""


Version = BeforeValidator(exact_int)
"""Put on a `schema_version` Literal: 1 is a version, 1.0 and true are not."""
