"""URL paths built from input: each value is one percent-encoded path segment.

A contract id of `..` formatted into `/crm/contracts/{id}` asks for `/crm`, and one holding `/`
or `?` asks for another resource. Encoded, it is the id it claims to be, and the system answers
404 for it. `.` and `..` are left alone by percent-encoding (they are unreserved characters),
so they are spelled `%2E`, which a URL does not resolve as a dot segment.
"""

from urllib.parse import quote


def segment(value: str) -> str:
    """`value` as one path segment: every reserved character and each dot of a dot segment
    percent-encoded."""
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")
