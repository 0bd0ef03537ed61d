"""Payload encryption keys: where they come from, how they are checked, how a new one is made.

A key set maps key ids to AES-256 keys (base64, 32 bytes), as JSON:
`{"q2c-2026-11": "…base64…", "q2c-2027-02": "…"}`. Every key decrypts; one encrypts: the
one `Q2C_ENCRYPTION_KEY_ID` names, else the last listed (the newest). The set comes from
`Q2C_ENCRYPTION_KEYS`, else from the file `Q2C_ENCRYPTION_KEY_FILE`, else from
`Q2C_HOME/encryption-keys.json` (where the dev stack writes its own key).

No message here ever contains key material: only ids, sources and reasons.
"""

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.settings import Settings

KEY_BYTES = 32
"""AES-256."""
KEY_FILE_NAME = "encryption-keys.json"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyConfigError(ValueError):
    """The key settings are missing or malformed; the message names the source and the reason."""


@dataclass(frozen=True)
class KeyRing:
    """Every key that decrypts, by id, and the id of the one that encrypts."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyConfigError(f"encryption key id {self.current!r} is not in the key set")

    @property
    def ids(self) -> list[str]:
        return list(self.keys)


def check_key_id(key_id: str, *, source: str = "") -> str:
    """`key_id` when it is 1 to 64 letters, digits, '.', '_' or '-'; else KeyConfigError."""
    if not _KEY_ID.fullmatch(key_id):
        where = f"{source}: " if source else ""
        raise KeyConfigError(
            f"{where}key id {key_id!r} must be 1 to 64 letters, digits, '.', '_' or '-'"
        )
    return key_id


def parse_key_set(text: str, *, source: str) -> dict[str, bytes]:
    """`{"id": "base64 of 32 bytes", …}` to keys by id, in the order given."""
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyConfigError(
            f'{source}: not JSON; expected {{"key-id": "<base64 of 32 bytes>", …}}'
        ) from None
    if not isinstance(data, dict) or not data:
        raise KeyConfigError(
            f'{source}: expected a non-empty JSON object {{"key-id": "<base64 of 32 bytes>"}}'
        )
    keys: dict[str, bytes] = {}
    for key_id, value in data.items():
        check_key_id(key_id, source=source)
        if not isinstance(value, str):
            raise KeyConfigError(f"{source}: key {key_id!r} must be a base64 string")
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise KeyConfigError(f"{source}: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise KeyConfigError(
                f"{source}: key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}"
                " (make one with `q2c keys new`)"
            )
        keys[key_id] = key
    return keys


def key_ring(keys: Mapping[str, bytes], *, current: str | None = None, source: str) -> KeyRing:
    chosen = current or list(keys)[-1]
    if chosen not in keys:
        raise KeyConfigError(
            f"Q2C_ENCRYPTION_KEY_ID: {chosen!r} is not in {source} (it has {', '.join(keys)})"
        )
    return KeyRing(keys=dict(keys), current=chosen)


def default_key_file(home: Path) -> Path:
    return home / KEY_FILE_NAME


def load_key_ring(settings: "Settings") -> KeyRing | None:
    """The configured key ring; None when encryption is off. Raises KeyConfigError when it
    is on and no usable key set is configured."""
    if not settings.encryption:
        return None
    if settings.encryption_keys is not None:
        source = "Q2C_ENCRYPTION_KEYS"
        text = settings.encryption_keys.get_secret_value()
    else:
        path = settings.encryption_key_file or default_key_file(settings.home)
        source = str(path)
        if settings.encryption_key_file is None and not path.exists():
            raise KeyConfigError(
                "payload encryption is on but no key is configured: set Q2C_ENCRYPTION_KEYS "
                f"or Q2C_ENCRYPTION_KEY_FILE, or put a key set in {path} (`q2c keys new "
                f"--file {path}`); Q2C_ENCRYPTION=off sends payloads in plaintext"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise KeyConfigError(f"Q2C_ENCRYPTION_KEY_FILE: {path}: {error.strerror}") from None
    keys = parse_key_set(text, source=source)
    return key_ring(keys, current=settings.encryption_key_id, source=source)


def new_key() -> str:
    """A fresh AES-256 key, base64."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def new_key_id(now: datetime | None = None) -> str:
    """An id that sorts by creation time, to the second."""
    return f"q2c-{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}"


def add_key(path: Path, *, key_id: str | None = None) -> str:
    """Append a fresh key to the key file at `path` (created, owner-only, when missing), so it
    becomes the newest; returns its id. An existing file must hold a valid key set."""
    keys: dict[str, str] = {}
    if path.exists():
        text = path.read_text(encoding="utf-8")
        parse_key_set(text, source=str(path))  # refuse to extend a broken file
        keys = json.loads(text)
    chosen = check_key_id(key_id or new_key_id())
    if chosen in keys:
        raise KeyConfigError(f"{path}: key id {chosen!r} is there already")
    keys[chosen] = new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(json.dumps(keys, indent=1) + "\n")
    os.replace(scratch, path)
    return chosen
