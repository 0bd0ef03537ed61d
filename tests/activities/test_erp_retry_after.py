"""Retry-After in either form RFC 9110 allows sets the next retry delay."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from temporalio.exceptions import ApplicationError

from activities.errors import THROTTLED, TRANSIENT, _retry_after, raise_for_status

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)


def _response(status: int, retry_after: str) -> httpx.Response:
    request = httpx.Request("GET", "http://erp/erp/postings/k")
    return httpx.Response(status, headers={"Retry-After": retry_after}, request=request)


def test_an_http_date_is_a_delay_from_now() -> None:
    response = _response(429, "Thu, 26 Nov 2026 15:00:30 GMT")
    assert _retry_after(response, now=NOW) == timedelta(seconds=30)


def test_a_date_in_the_past_means_retry_at_once() -> None:
    response = _response(503, "Thu, 26 Nov 2026 14:00:00 GMT")
    assert _retry_after(response, now=NOW) == timedelta(0)


@pytest.mark.parametrize("value", ["soon", "", "-", "Thu, 99 Nov 2026 25:00:00 GMT"])
def test_an_unreadable_value_falls_back_to_backoff(value: str) -> None:
    with pytest.raises(ApplicationError) as error:
        raise_for_status(_response(503, value), system="erp")
    assert error.value.type == TRANSIENT and error.value.next_retry_delay is None


def test_a_date_header_throttles_with_its_delay() -> None:
    with pytest.raises(ApplicationError) as error:
        raise_for_status(_response(429, "Fri, 01 Jan 2100 00:00:00 GMT"), system="erp")
    assert error.value.type == THROTTLED and not error.value.non_retryable
    assert error.value.next_retry_delay is not None
    assert error.value.next_retry_delay > timedelta(days=365)


@given(st.integers(min_value=0, max_value=86_400))
def test_seconds_round_trip(seconds: int) -> None:
    assert _retry_after(_response(429, str(seconds))) == timedelta(seconds=seconds)
