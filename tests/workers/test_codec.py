"""The payload codec against the wire format of Temporal's encryption sample, and the keys.

The sample (temporalio/samples-python, encryption/codec.py) encrypts the serialized payload
with AES-GCM under a random 12-byte nonce, writes `nonce ‖ ciphertext ‖ tag` as the data and
the metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`. `_sample_encrypt` and
`_sample_decrypt` below restate that algorithm from the sample, independently of q2c's code.
"""

import base64
import json
import os
import re
import zlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from workers.client import data_converter
from workers.codec import EncryptionCodec, PayloadDecryptError
from workers.keys import KeyConfigError, KeyRing, add_key, load_key_ring, parse_key_set
from workers.settings import Settings

OLD = bytes(range(32))
NEW = bytes(range(32, 64))


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def _sample_encrypt(key_id: str, key: bytes, payload: Payload) -> Payload:
    nonce = os.urandom(12)
    return Payload(
        metadata={"encoding": b"binary/encrypted", "encryption-key-id": key_id.encode()},
        data=nonce + AESGCM(key).encrypt(nonce, payload.SerializeToString(), None),
    )


def _sample_decrypt(key: bytes, payload: Payload) -> Payload:
    return Payload.FromString(AESGCM(key).decrypt(payload.data[:12], payload.data[12:], None))


def _plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


def _codec(**keys: bytes) -> EncryptionCodec:
    return EncryptionCodec(KeyRing(keys=keys, current=list(keys)[-1]))


async def test_what_it_encrypts_the_sample_decrypts() -> None:
    original = _plain("billing@acme.example")
    [sealed] = await _codec(k1=OLD).encode([original])
    assert dict(sealed.metadata) == {
        "encoding": b"binary/encrypted",
        "encryption-key-id": b"k1",
    }
    assert b"acme" not in sealed.data
    # 12-byte nonce, the serialized payload, the 16-byte GCM tag.
    assert len(sealed.data) == 12 + len(original.SerializeToString()) + 16
    assert _sample_decrypt(OLD, sealed) == original


async def test_what_the_sample_encrypts_it_decrypts() -> None:
    original = _plain("Globex GmbH")
    [opened] = await _codec(k1=OLD).decode([_sample_encrypt("k1", OLD, original)])
    assert opened == original


async def test_each_payload_gets_a_fresh_nonce() -> None:
    codec = _codec(k1=OLD)
    sealed = await codec.encode([_plain("same")] * 50)
    nonces = {p.data[:12] for p in sealed}
    assert len(nonces) == 50


async def test_unencrypted_payloads_pass_through_decode() -> None:
    plain = _plain("recorded before encryption")
    mixed = [plain, _sample_encrypt("k1", OLD, _plain("after"))]
    assert await _codec(k1=OLD).decode(mixed) == [plain, _plain("after")]


async def test_the_newest_key_encrypts_and_every_key_decrypts() -> None:
    before = _sample_encrypt("old", OLD, _plain("from last year"))
    codec = _codec(old=OLD, new=NEW)
    [sealed] = await codec.encode([_plain("today")])
    assert sealed.metadata["encryption-key-id"] == b"new"
    assert await codec.decode([before, sealed]) == [_plain("from last year"), _plain("today")]


async def test_a_payload_whose_key_is_gone_names_the_key_id() -> None:
    before = _sample_encrypt("old", OLD, _plain("x"))
    with pytest.raises(PayloadDecryptError, match="key id 'old'.*it has new"):
        await _codec(new=NEW).decode([before])


async def test_a_wrong_key_under_a_known_id_or_altered_data_is_refused_by_name() -> None:
    wrong = _sample_encrypt("k1", NEW, _plain("x"))
    with pytest.raises(PayloadDecryptError, match="key id 'k1' does not decrypt"):
        await _codec(k1=OLD).decode([wrong])
    good = _sample_encrypt("k1", OLD, _plain("x"))
    altered = Payload(metadata=good.metadata, data=good.data[:-1] + bytes([good.data[-1] ^ 1]))
    with pytest.raises(PayloadDecryptError, match="key id 'k1' does not decrypt"):
        await _codec(k1=OLD).decode([altered])
    short = Payload(metadata=good.metadata, data=b"tiny")
    with pytest.raises(PayloadDecryptError, match="key id 'k1' is 4 bytes"):
        await _codec(k1=OLD).decode([short])


class Customer(BaseModel):
    email: str


async def test_the_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter(Settings(encryption_keys=json.dumps({"k1": _b64(OLD)})))
    [payload] = await converter.encode([Customer(email="billing@acme.example")])
    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert await converter.decode([payload], [Customer]) == [Customer(email="billing@acme.example")]

    failure = Failure()
    error = ApplicationError("customer billing@@broken: invalid e-mail", type="CustomerInvalid")
    await converter.encode_failure(error, failure)
    assert "billing@@broken" not in str(failure)
    assert failure.message == "Encoded failure"
    decoded = await converter.decode_failure(failure)
    assert isinstance(decoded, ApplicationError)
    assert decoded.message == "customer billing@@broken: invalid e-mail"


def test_encryption_off_is_plaintext() -> None:
    assert load_key_ring(Settings(encryption=False)) is None
    assert data_converter(Settings(encryption=False)).payload_codec is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "not JSON"),
        ("[]", "non-empty JSON object"),
        ("{}", "non-empty JSON object"),
        (json.dumps({"has space": _b64(OLD)}), "key id 'has space' must be"),
        (json.dumps({"k1\n": _b64(OLD)}), re.escape("key id 'k1\\n' must be")),
        (json.dumps({"k1": 42}), "key 'k1' must be a base64 string"),
        (json.dumps({"k1": "***"}), "key 'k1' is not valid base64"),
        (json.dumps({"k1": _b64(OLD[:16])}), "key 'k1' is 16 bytes; AES-256 needs 32"),
    ],
)
def test_malformed_key_sets_are_refused_by_source_and_reason(value: str, reason: str) -> None:
    with pytest.raises(KeyConfigError, match=reason) as raised:
        load_key_ring(Settings(encryption_keys=value))
    assert str(raised.value).startswith("Q2C_ENCRYPTION_KEYS: ")
    assert _b64(OLD) not in str(raised.value)


def test_the_encrypting_key_can_be_chosen_and_must_exist() -> None:
    keys = json.dumps({"old": _b64(OLD), "new": _b64(NEW)})
    ring = load_key_ring(Settings(encryption_keys=keys, encryption_key_id="old"))
    assert ring is not None and ring.current == "old" and ring.ids == ["old", "new"]
    with pytest.raises(KeyConfigError, match="Q2C_ENCRYPTION_KEY_ID: 'gone' is not in"):
        load_key_ring(Settings(encryption_keys=keys, encryption_key_id="gone"))


def test_no_key_configured_is_an_error_that_says_what_to_set(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, encryption_keys=None, encryption_key_file=None)
    with pytest.raises(KeyConfigError, match="no key is configured.*Q2C_ENCRYPTION=off"):
        load_key_ring(settings)
    missing = tmp_path / "nope.json"
    with pytest.raises(KeyConfigError, match=f"{missing}: No such file"):
        load_key_ring(Settings(encryption_keys=None, encryption_key_file=missing))


def test_a_key_file_grows_by_one_newest_key_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "set.json"
    assert add_key(path, key_id="first") == "first"
    assert add_key(path, key_id="second") == "second"
    assert path.stat().st_mode & 0o777 == 0o600
    keys = parse_key_set(path.read_text(), source=str(path))
    assert list(keys) == ["first", "second"] and all(len(k) == 32 for k in keys.values())
    ring = load_key_ring(Settings(encryption_keys=None, encryption_key_file=path))
    assert ring is not None and ring.current == "second"
    # The default place is the home folder, where the dev stack writes its key.
    (tmp_path / "encryption-keys.json").write_text(path.read_text())
    at_home = load_key_ring(Settings(home=tmp_path, encryption_keys=None))
    assert at_home is not None and at_home.ids == ["first", "second"]
    with pytest.raises(KeyConfigError, match="'first' is there already"):
        add_key(path, key_id="first")
    with pytest.raises(KeyConfigError, match="key id 'has space' must be 1 to 64 letters"):
        add_key(path, key_id="has space")
    assert list(parse_key_set(path.read_text(), source=str(path))) == ["first", "second"]
    path.write_text("{broken")
    with pytest.raises(KeyConfigError, match="not JSON"):
        add_key(path)


# Compression. Temporal's features spec "Compression codec" (temporalio/features,
# features/data_converter/codec) and the Go SDK's ZlibCodec: `encoding: binary/zlib`, the
# data the zlib stream (RFC 1950) of the serialized inner payload. `_go_zlib` restates it.


def _go_zlib(payload: Payload) -> Payload:
    return Payload(
        metadata={"encoding": b"binary/zlib"}, data=zlib.compress(payload.SerializeToString())
    )


def _invoice_json(lines: int) -> Payload:
    rows = [{"charge_id": f"api-{i}", "amount": "12.34", "currency": "EUR"} for i in range(lines)]
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(rows).encode())


async def test_a_payload_that_compresses_is_zlib_inside_the_encryption() -> None:
    original = _invoice_json(40)
    [sealed] = await _codec(k1=OLD).encode([original])
    inner = _sample_decrypt(OLD, sealed)
    assert dict(inner.metadata) == {"encoding": b"binary/zlib"}
    assert inner.data[:1] == b"\x78"  # an RFC 1950 zlib header
    assert Payload.FromString(zlib.decompress(inner.data)) == original
    assert len(sealed.data) < len(original.SerializeToString()) // 3


async def test_what_a_go_zlib_codec_chained_with_the_sample_wrote_it_reads() -> None:
    original = _invoice_json(40)
    [opened] = await _codec(k1=OLD).decode([_sample_encrypt("k1", OLD, _go_zlib(original))])
    assert opened == original


async def test_a_zlib_payload_without_encryption_reads_too() -> None:
    original = _invoice_json(10)
    [opened] = await _codec(k1=OLD).decode([_go_zlib(original)])
    assert opened == original


async def test_a_payload_that_would_not_shrink_is_encrypted_as_it_is() -> None:
    original = Payload(metadata={"encoding": b"binary/plain"}, data=os.urandom(2000))
    [sealed] = await _codec(k1=OLD).encode([original])
    assert _sample_decrypt(OLD, sealed) == original


async def test_a_zlib_payload_that_does_not_decompress_is_refused_by_name() -> None:
    broken = Payload(metadata={"encoding": b"binary/zlib"}, data=b"\x78\x9cnot zlib")
    with pytest.raises(PayloadDecryptError, match="binary/zlib payload of 10 bytes"):
        await _codec(k1=OLD).decode([broken])


async def test_with_compression_off_it_encrypts_the_payload_as_it_is() -> None:
    original = _invoice_json(40)
    codec = EncryptionCodec(KeyRing(keys={"k1": OLD}, current="k1"), compress=False)
    [sealed] = await codec.encode([original])
    assert _sample_decrypt(OLD, sealed) == original
