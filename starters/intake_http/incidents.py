"""Integration incidents per source, from the request log: what each sender got refused."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from starters.intake_http.store import IntakeRequest


@dataclass
class SourceIncidents:
    source: str
    requests: int = 0
    accepted: int = 0
    by_outcome: Counter[str] = field(default_factory=Counter)
    """Refusals (4xx, 5xx) and dead letters, by outcome."""

    @property
    def incidents(self) -> int:
        return sum(self.by_outcome.values())


def incidents_by_source(rows: Iterable[IntakeRequest]) -> list[SourceIncidents]:
    found: dict[str, SourceIncidents] = {}
    for row in rows:
        source = found.setdefault(
            row.source or "(unsigned)", SourceIncidents(row.source or "(unsigned)")
        )
        source.requests += 1
        if row.status >= 400 or row.outcome == "dead_lettered":
            source.by_outcome[row.outcome] += 1
        else:
            source.accepted += 1
    return sorted(found.values(), key=lambda s: (-s.incidents, s.source))
