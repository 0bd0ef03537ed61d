"""Q2C_SMTP_URL: what each form means, and a clear refusal naming the setting for the rest."""

import pytest

from activities.smtp import SmtpUrlError, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "username", "password"),
    [
        # RFC 8314: submission with STARTTLS on 587, implicit TLS on 465.
        ("smtp://ap%40seller.example:p%3Ass@mail.example", "mail.example", 587, "starttls",
         "ap@seller.example", "p:ss"),
        ("smtp://u:p@mail.example:2525", "mail.example", 2525, "starttls", "u", "p"),
        ("smtps://u:p@mail.example", "mail.example", 465, "tls", "u", "p"),
        ("smtp://127.0.0.1:8425?starttls=off", "127.0.0.1", 8425, "none", "", ""),
        ("smtp://localhost?starttls=off", "localhost", 25, "none", "", ""),
        ("smtp://relay.internal", "relay.internal", 587, "starttls", "", ""),
    ],
)  # fmt: skip
def test_the_forms_of_the_url(
    url: str, host: str, port: int, security: str, username: str, password: str
) -> None:
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.security, target.username) == (
        host,
        port,
        security,
        username,
    )
    assert target.password.get_secret_value() == password


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example", "the scheme must be smtp:// or smtps://, not http://"),
        ("mail.example:587", "the scheme must be smtp:// or smtps://"),
        ("smtp://", "no host"),
        ("smtp://mail.example:port", "the port must be a number from 1 to 65535"),
        ("smtp://mail.example:70000", "the port must be a number from 1 to 65535"),
        ("smtp://mail.example:0", "the port must be a number from 1 to 65535"),
        ("smtp://mail.example/inbox", "a path (/inbox) means nothing to SMTP"),
        ("smtp://mail.example?tls=off", "unknown option tls"),
        ("smtp://mail.example?starttls=on", "starttls=off is the only value"),
        ("smtps://mail.example?starttls=off", "only for smtp://"),
        ("smtp://user@mail.example", "a login needs both a user and a password"),
        ("smtp://:secret@mail.example", "a login needs both a user and a password"),
        ("smtp://u:secret@mail.example?starttls=off", "would send the password in clear"),
    ],
)
def test_a_bad_url_is_refused_naming_the_setting_and_the_reason(url: str, says: str) -> None:
    with pytest.raises(SmtpUrlError) as refused:
        parse_smtp_url(url)
    message = str(refused.value)
    assert message.startswith("Q2C_SMTP_URL: ")
    assert says in message
    assert "secret" not in message


def test_the_redacted_form_hides_the_password() -> None:
    target = parse_smtp_url("smtp://u:secret@mail.example")
    assert target.redacted() == "smtp://u:***@mail.example:587"
    assert "secret" not in repr(target)
