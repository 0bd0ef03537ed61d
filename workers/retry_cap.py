"""Q2C_RETRY_DELAY_CAP_SECONDS: a ceiling on the wait before a failed activity is tried again.

The runs retry a transient failure 1 s, 2 s, 4 s … up to 60 s apart (workflows/calls.py). A
fault drill on a dev stack (`q2c chaos`) makes a system fail on purpose, so often that one
call can fail six times in a row and then waits two minutes between tries for nothing. With
the cap the worker asks Temporal for the next attempt sooner (`next_retry_delay`), without
touching the workflow code and so without changing any run's history. The attempts, the
errors and the exactly-once rules are the same; only the waits shrink. A throttled call
keeps the wait its system asked for (Retry-After). Not for production: a system that is down
would be called every few tenths of a second.
"""

from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, TemporalError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


def policy_delay(policy: RetryPolicy | None, attempt: int) -> timedelta | None:
    """The wait the retry policy gives after attempt `attempt` failed (Temporal's own rule:
    initial × coefficient^(attempt-1), at most the maximum); None without a policy."""
    if policy is None:
        return None
    delay = policy.initial_interval * policy.backoff_coefficient ** (attempt - 1)
    if policy.maximum_interval is not None:
        delay = min(delay, policy.maximum_interval)
    return delay


class RetryDelayCap(Interceptor):
    def __init__(self, cap: timedelta) -> None:
        if cap <= timedelta(0):
            raise ValueError("cap: must be positive")
        self.cap = cap

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Capped(next, self.cap)


class _Capped(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, cap: timedelta) -> None:
        super().__init__(next)
        self._cap = cap

    def _delay(self) -> timedelta:
        info = activity.info()
        delay = policy_delay(info.retry_policy, info.attempt)
        return self._cap if delay is None else min(delay, self._cap)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except ApplicationError as error:
            if error.non_retryable or error.next_retry_delay is not None:
                raise  # a permanent failure, or a throttled call with its Retry-After
            sooner = ApplicationError(
                error.message,
                *error.details,
                type=error.type,
                next_retry_delay=self._delay(),
                category=error.category,
            )
            raise sooner.with_traceback(error.__traceback__) from error.__cause__
        except TemporalError:
            raise  # cancellation and the like: Temporal's own
        except Exception as error:
            # What the SDK would send for it (type: the class name), with the shorter wait.
            sooner = ApplicationError(
                str(error), type=type(error).__name__, next_retry_delay=self._delay()
            )
            raise sooner.with_traceback(error.__traceback__) from error.__cause__
