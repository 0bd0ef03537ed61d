"""Generated junk for the parsers' fuzz tests: any JSON value, and near-valid documents with
one field replaced by one. The rule for every parser is the same: a validation error or a
success, never another exception."""

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", ".", "..", "\x00", "1e400", "NaN", "-0", "2026-02-30", "😀" * 3])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
"""Any JSON value (NaN and Infinity aside: they are not JSON)."""

RAW_BYTES = st.binary(max_size=200) | JSON_VALUES.map(lambda value: repr(value).encode())

BOUNDED = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI is not where new ones are found
    suppress_health_check=[HealthCheck.too_slow],
)


def mutated(document: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """`document` with one of its fields replaced by junk, dropped, or a junk field added."""
    keys = sorted(document)

    def replace(key: str, value: Any) -> dict[str, Any]:
        return document | {key: value}

    def drop(key: str) -> dict[str, Any]:
        return {k: v for k, v in document.items() if k != key}

    return (
        st.builds(replace, st.sampled_from(keys), JSON_VALUES)
        | st.builds(drop, st.sampled_from(keys))
        | st.builds(replace, st.text(max_size=12), JSON_VALUES)
    )
