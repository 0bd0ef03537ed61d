"""The payload codec: AES-256-GCM, in the wire format of Temporal's encryption samples.

Each payload is serialized whole (metadata and data) and encrypted under a fresh 12-byte
nonce; the result is `nonce ‖ ciphertext ‖ tag`, with the metadata `encoding:
binary/encrypted` and `encryption-key-id: <id>`. The Go, TypeScript and Python samples use
the same shape, so their codec servers and q2c's can read each other's payloads given the key.

Payloads without that encoding pass through decode untouched: histories written before
encryption was turned on (or with it off) still read.

Before it is encrypted, a payload that compresses is compressed, in the wire format of the
Go SDK's `ZlibCodec` (and Temporal's features spec "Compression codec"): the serialized
payload, zlib-compressed, as the data of a payload with the metadata `encoding:
binary/zlib`. That is, the codec is the chain `[zlib, encryption]` of the other SDKs. A
payload that would not shrink is encrypted as it is, so every payload the codec wrote before
compression (and those of the samples) still reads. Compression comes first because
ciphertext does not compress; it leaks only a payload's compressed length to whoever holds
the history, which already shows each payload's length.
"""

import os
import zlib
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from workers.keys import KeyRing

ENCODING = b"binary/encrypted"
ZLIB_ENCODING = b"binary/zlib"
ZLIB_LEVEL = 6
"""zlib's default level: at 9 a run's payloads shrink by under 1 % more for twice the CPU."""
KEY_ID_METADATA = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16


class PayloadDecryptError(ValueError):
    """An encrypted payload cannot be read here; the message names its key id."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing, *, compress: bool = True) -> None:
        super().__init__()
        self._ring = ring
        self._compress = compress
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}
        self._current = ring.current.encode()
        self._encryptor = self._ciphers[ring.current]

    async def encode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Iterable[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._encryptor.encrypt(nonce, self._packed(payload).SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self._current},
            data=nonce + sealed,
        )

    def _packed(self, payload: Payload) -> Payload:
        return compressed(payload) if self._compress else payload

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return decompressed(payload)
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            held = ", ".join(self._ring.ids)
            raise PayloadDecryptError(
                f"payload encrypted with key id {key_id!r}, which this process does not have"
                f" (it has {held}): add that key to Q2C_ENCRYPTION_KEYS or the key file"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptError(
                f"payload under key id {key_id!r} is {len(data)} bytes: too short to be"
                " nonce, ciphertext and tag"
            )
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None)
        except InvalidTag:
            raise PayloadDecryptError(
                f"payload under key id {key_id!r} does not decrypt: the key with that id is"
                " not the one that encrypted it, or the payload was altered"
            ) from None
        return decompressed(Payload.FromString(plain))


def compressed(payload: Payload) -> Payload:
    """`payload` as a `binary/zlib` payload when that is smaller, else `payload` itself."""
    serialized = payload.SerializeToString()
    packed = zlib.compress(serialized, ZLIB_LEVEL)
    # The wrapper's metadata costs about 25 bytes: a payload must shrink by more to gain.
    if len(packed) + 32 >= len(serialized):
        return payload
    return Payload(metadata={"encoding": ZLIB_ENCODING}, data=packed)


def decompressed(payload: Payload) -> Payload:
    """The payload inside a `binary/zlib` one; any other payload as it is."""
    if payload.metadata.get("encoding") != ZLIB_ENCODING:
        return payload
    try:
        return Payload.FromString(zlib.decompress(payload.data))
    except (zlib.error, DecodeError) as error:
        raise PayloadDecryptError(
            f"a binary/zlib payload of {len(payload.data)} bytes does not decompress to a"
            f" payload: {error}"
        ) from None
