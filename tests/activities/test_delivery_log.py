"""The delivery log, on SQLite and PostgreSQL: intent, sent, failed, and what a retry finds."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.delivery import DeliveryRecord
from workers.audit.store import AuditStore
from workers.delivery_log import DeliveryLogStore

AT = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)


def _intent(**overrides: object) -> DeliveryRecord:
    values: dict[str, object] = {
        "key": "q2c:C-1001:cycle:2026-10-01:2026-11-01",
        "channel": "email",
        "recipient": "ap@buyer.example",
        "document_id": "INV-000001",
        "run_id": "q2c:C-1001:cycle:2026-10-01:2026-11-01",
        "message_id": "<q2c.abc@seller.example>",
        "state": "sending",
        "intent_at": AT,
    }
    return DeliveryRecord.model_validate(values | overrides)


def test_a_new_key_is_stored_as_an_intent(delivery_log: DeliveryLogStore) -> None:
    assert delivery_log.find(_intent().key) is None
    entry = delivery_log.begin(_intent())
    assert entry == _intent()
    assert delivery_log.find(_intent().key) == entry


def test_a_sent_key_is_returned_untouched(delivery_log: DeliveryLogStore) -> None:
    delivery_log.begin(_intent())
    sent_at = AT + timedelta(seconds=2)
    delivery_log.mark_sent(_intent().key, message_id="<q2c.abc@seller.example>",
                           sent_at=sent_at, reply="250 queued")  # fmt: skip
    again = delivery_log.begin(
        _intent(recipient="other@buyer.example", intent_at=AT + timedelta(1))
    )
    assert (again.state, again.recipient, again.attempts, again.sent_at, again.intent_at) == (
        "sent",
        "ap@buyer.example",
        1,
        sent_at,
        AT,
    )
    assert again.reply == "250 queued"


def test_an_unfinished_or_failed_key_is_taken_up_again(delivery_log: DeliveryLogStore) -> None:
    delivery_log.begin(_intent())
    retried = delivery_log.begin(_intent(intent_at=AT + timedelta(minutes=1)))
    assert (retried.state, retried.attempts, retried.intent_at) == ("sending", 2, AT)
    delivery_log.mark_failed(_intent().key, reply="550 5.1.1 no such mailbox")
    failed = delivery_log.find(_intent().key)
    assert failed is not None and (failed.state, failed.reply) == (
        "failed",
        "550 5.1.1 no such mailbox",
    )
    fixed = delivery_log.begin(_intent(recipient="ap2@buyer.example"))
    assert (fixed.state, fixed.recipient, fixed.attempts, fixed.message_id) == (
        "sending",
        "ap2@buyer.example",
        3,
        "<q2c.abc@seller.example>",
    )


def test_a_failure_never_overwrites_a_sent_entry(delivery_log: DeliveryLogStore) -> None:
    delivery_log.begin(_intent())
    delivery_log.mark_sent(_intent().key, message_id="<m>", sent_at=AT, reply="250")
    delivery_log.mark_failed(_intent().key, reply="550 late")
    entry = delivery_log.find(_intent().key)
    assert entry is not None and (entry.state, entry.reply) == ("sent", "250")


def test_the_log_lives_beside_the_audit_trail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    audit, log = AuditStore(url=url), DeliveryLogStore(url=url)
    audit.create()
    log.create()
    log.begin(_intent())
    assert audit.read() == []
    assert log.find(_intent().key) is not None
    audit.dispose()
    log.dispose()
