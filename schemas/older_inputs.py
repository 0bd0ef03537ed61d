"""Activity inputs an older worker scheduled, read as today's model.

Replay does not compare an activity's input, so a step's input may change shape without a
patch; but a new worker may execute an input that an older one scheduled (docs/operations.md,
"Changing an activity's input"). Each such model reads the older shape in a before-validator.
"""

from collections.abc import Callable
from typing import Any


def read_older_shape(
    data: Any, *, old: str, new: str, convert: Callable[[Any], dict[str, Any]]
) -> Any:
    """`data` with its field `old` replaced by the fields `convert` makes of it, when it has
    `old` and not `new` (a field only today's shape has); otherwise `data` as it is."""
    if isinstance(data, dict) and old in data and new not in data:
        rest = {k: v for k, v in data.items() if k != old}
        return rest | convert(data[old])
    return data
