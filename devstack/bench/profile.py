"""Where a worker's CPU goes during the bursts: py-spy samples of the thread holding the GIL,
summarised by what the code is doing.

`q2c bench burst --profile DIR` records each q2c worker with
`py-spy record --pid PID --gil --rate 50 --format raw --nonblocking -o DIR/<worker>.txt`
from the first burst's start to the last one's end; each line of the file is one stack
(`frame;frame;... count`). `summarise` puts each sample in the first kind its stack matches.
"""

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "e-invoice: render, EN 16931 rules, PDF",
        re.compile(r"billing/einvoice|saxonche|reportlab|pypdf|facturx|lxml"),
    ),
    (
        "e-mail: message and SMTP",
        re.compile(r"/email/|aiosmtplib|email_message\.py|smtp\.py|mailer\.py"),
    ),
    (
        "audit trail and delivery log",
        re.compile(r"workers/audit/(store|group_commit)|delivery_log|sqlalchemy|sqlite3"),
    ),
    ("payload converter", re.compile(r"temporalio/converter\.py|temporalio/contrib/pydantic")),
    ("payload codec", re.compile(r"workers/codec\.py|cryptography")),
    (
        "workflow tasks (sandbox, workflow code)",
        re.compile(r"temporalio/worker/workflow_sandbox|_workflow_instance|/workflows/"),
    ),
    ("HTTP to the systems", re.compile(r"httpx|httpcore|h11")),
    ("pydantic elsewhere (activity models)", re.compile(r"pydantic")),
)
OTHER = "other (SDK bridge, event loop, threads)"


@dataclass(frozen=True)
class ProfileSummary:
    samples: int
    share_by_kind: dict[str, float] = field(default_factory=dict)
    """Per cent of the samples, by kind, largest first."""
    top_self: dict[str, float] = field(default_factory=dict)
    """Per cent of the samples by the frame they were in, the 10 largest."""


def summarise(raw: str) -> ProfileSummary:
    kinds: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        calls = stack.split(";")
        kind = next((name for name, rx in KINDS if any(rx.search(f) for f in calls)), OTHER)
        kinds[kind] += samples
        frames[calls[-1]] += samples

    def share(counts: Counter[str], top: int | None = None) -> dict[str, float]:
        return {k: round(100 * n / total, 1) for k, n in counts.most_common(top)}

    if total == 0:
        return ProfileSummary(samples=0)
    return ProfileSummary(samples=total, share_by_kind=share(kinds), top_self=share(frames, 10))


class Profiler:
    """py-spy on each of `pids` until `stop`; a missing py-spy is said, not fatal."""

    def __init__(self, folder: Path, pids: dict[str, int]) -> None:
        self._folder = folder
        self._pids = pids
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        beside = Path(sys.executable).with_name("py-spy")  # the virtualenv's, not activated
        spy = str(beside) if beside.exists() else shutil.which("py-spy")
        if spy is None:
            raise RuntimeError("--profile needs py-spy (pip install -e '.[dev]')")
        self._folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self._pids.items():
            argv = [spy, "record", "--pid", str(pid), "--gil", "--rate", "50"]
            argv += ["--format", "raw", "--nonblocking", "-o", str(self._path(name))]
            with open(self._folder / f"{name}.log", "ab") as log:
                self._running[name] = subprocess.Popen(argv, stdout=log, stderr=log)

    def stop(self) -> dict[str, ProfileSummary]:
        """py-spy writes its file on SIGINT."""
        for process in self._running.values():
            process.send_signal(signal.SIGINT)
        for process in self._running.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        found = {n: self._path(n) for n in self._running if self._path(n).exists()}
        self._running.clear()
        return {name: summarise(path.read_text()) for name, path in found.items()}

    def _path(self, name: str) -> Path:
        return self._folder / f"{name}.txt"
