"""The one error rating raises: a field path and a reason, never a silent zero."""

from pydantic import ValidationError


class RatingError(ValueError):
    """The contract or its usage cannot be rated; `field` is the path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def from_validation_error(prefix: str, error: ValidationError) -> RatingError:
    """The first problem pydantic found, with its location appended to `prefix`."""
    first = error.errors(include_url=False)[0]
    path = ".".join([prefix, *(str(part) for part in first["loc"])])
    return RatingError(path, first["msg"])
