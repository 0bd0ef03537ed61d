"""The outbox SMTP server (`python -m systems.outbox`) as a child process on a free port."""

import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import trustme

from devstack.stack import free_port

BOUNCING = r"^bounce[^@]*@"
"""Recipients the test server refuses with 550 (no such mailbox)."""
DEFERRING = r"^busy[^@]*@"
"""Recipients the test server defers with 451 (try again later)."""


@dataclass
class OutboxServer:
    folder: Path
    port: int = field(default_factory=free_port)
    options: list[str] = field(
        default_factory=lambda: ["--refuse-permanent", BOUNCING, "--refuse-temporary", DEFERRING]
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server as Q2C_SMTP_URL names it."""
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    @property
    def log(self) -> Path:
        return self.folder.parent / f"outbox-{self.port}.log"

    def start(self) -> None:
        self.launch()
        self.wait_until_up()

    def launch(self) -> None:
        """Start the process without waiting for it (see `wait_until_up`)."""
        argv = [sys.executable, "-m", "systems.outbox", "--port", str(self.port)]
        argv += ["--folder", str(self.folder), *self.options]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_up(self) -> None:
        assert self.process is not None, "launch it first"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the outbox exited: {self.log.read_text()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the outbox did not open port {self.port}; see {self.log}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(
                path.read_bytes(), _class=EmailMessage, policy=email.policy.default
            )
            for path in self.files()
        ]


@contextmanager
def tls_relay(folder: Path, *, login: str) -> Iterator[tuple[OutboxServer, Path]]:
    """A relay like production's, STARTTLS required and then `login` ("user:password"),
    with a certificate of a CA of its own: the server, and the CA's file a client trusts."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    tls = ["--tls-cert", str(folder / "cert.pem"), "--tls-key", str(folder / "key.pem")]
    server = OutboxServer(folder=folder / "outbox", options=[*tls, "--login", login])
    server.start()
    try:
        yield server, folder / "ca.pem"
    finally:
        server.stop()


def run_outbox(*argv: str) -> subprocess.CompletedProcess[str]:
    """The outbox's command line, for options it refuses at start."""
    return subprocess.run(
        [sys.executable, "-m", "systems.outbox", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env=dict(os.environ),
    )
