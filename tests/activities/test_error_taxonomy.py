"""Every HTTP outcome maps to one class of the taxonomy."""

from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.errors import THROTTLED, TRANSIENT, raise_for_status
from schemas.errors import ReasonCode


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "http://erp/erp/postings")
    return httpx.Response(status, json={"detail": "nope"}, headers=headers, request=request)


@pytest.mark.parametrize("status", [200, 201, 204, 302])
def test_success_raises_nothing(status: int) -> None:
    raise_for_status(_response(status), system="erp")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, ReasonCode.CONFIGURATION),
        (403, ReasonCode.CONFIGURATION),
        (404, ReasonCode.CONTRACT_NOT_FOUND),
        (409, ReasonCode.POSTING_CONFLICT),
        (400, ReasonCode.BAD_REQUEST),
        (422, ReasonCode.BAD_REQUEST),
    ],
)
def test_client_errors_are_permanent_with_a_reason(status: int, code: ReasonCode) -> None:
    with pytest.raises(ApplicationError) as error:
        raise_for_status(_response(status), system="erp", not_found=ReasonCode.CONTRACT_NOT_FOUND)
    assert error.value.non_retryable
    assert error.value.type == code
    assert "erp POST /erp/postings" in error.value.message


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_retry_delay(status: int) -> None:
    with pytest.raises(ApplicationError) as error:
        raise_for_status(_response(status, {"Retry-After": "7"}), system="erp")
    assert not error.value.non_retryable
    assert error.value.type == THROTTLED
    assert error.value.next_retry_delay == timedelta(seconds=7)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_without_retry_after_are_transient(status: int) -> None:
    with pytest.raises(ApplicationError) as error:
        raise_for_status(_response(status), system="erp")
    assert not error.value.non_retryable
    assert error.value.type == TRANSIENT
