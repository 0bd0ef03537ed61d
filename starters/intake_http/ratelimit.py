"""A token bucket per source: `rate` requests a second on average, bursts up to `burst`."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    rate: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, source: str) -> int:
        """0 if the request may go, else the whole seconds until it may (for Retry-After)."""
        now = self.clock()
        tokens, last = self._buckets.get(source, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[source] = (tokens - 1, now)
            return 0
        self._buckets[source] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))
