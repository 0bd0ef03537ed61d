"""SMTP: where to send (parsed from Q2C_SMTP_URL), and how a server's answer maps to the
error taxonomy.

    smtp://user:pass@host[:587]           STARTTLS (required), then login
    smtps://user:pass@host[:465]          implicit TLS, then login
    smtp://host:port?starttls=off         plain, no login (a local server such as the outbox)

    answer of the server                  →
     ├─ 2xx                               sent
     ├─ 5xx (refused recipient, sender    permanent: ApplicationError(type="delivery_failed",
     │   or message; a bounce)              non_retryable), naming the recipient and the reply
     ├─ 530/534/535 to our login          permanent: configuration (check Q2C_SMTP_URL)
     ├─ 4xx                               transient: ApplicationError(type="transient")
     └─ refused, reset or timed-out       transient: ApplicationError(type="transient")
         connection
"""

import ssl
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

import aiosmtplib
from pydantic import BaseModel, Field, SecretStr
from temporalio.exceptions import ApplicationError

from activities.errors import TRANSIENT, permanent
from schemas.errors import ReasonCode

Security = Literal["starttls", "tls", "none"]
_DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}
_LOGIN_REFUSED = frozenset({530, 534, 535})


class SmtpUrlError(ValueError):
    """An SMTP URL that cannot be used; the message names the setting and the reason."""


class SmtpTarget(BaseModel):
    host: str
    port: int = Field(ge=1, le=65535)
    security: Security
    username: str = ""
    password: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=30.0, gt=0)
    ca_file: str | None = Field(
        default=None, description="CA bundle to trust instead of the system's (a private relay)"
    )

    def redacted(self) -> str:
        scheme = "smtps" if self.security == "tls" else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        query = "?starttls=off" if self.security == "none" else ""
        return f"{scheme}://{user}{self.host}:{self.port}{query}"


def parse_smtp_url(url: str, *, setting: str = "Q2C_SMTP_URL") -> SmtpTarget:
    """The target of `url`; SmtpUrlError names `setting` and what is wrong (never the
    password)."""

    def fail(reason: str) -> SmtpUrlError:
        return SmtpUrlError(f"{setting}: {reason}")

    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        shown = f"{parts.scheme}://" if parts.scheme else "none"
        raise fail(f"the scheme must be smtp:// or smtps://, not {shown}")
    if not parts.hostname:
        raise fail("no host (expected smtp://user:password@host:port)")
    if parts.path not in ("", "/"):
        raise fail(f"a path ({parts.path}) means nothing to SMTP")
    try:
        port = parts.port
    except ValueError:
        raise fail("the port must be a number from 1 to 65535") from None
    if port == 0:
        raise fail("the port must be a number from 1 to 65535")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"starttls"})
    if unknown:
        raise fail(f"unknown option {', '.join(unknown)} (known: starttls=off)")
    security: Security = "tls" if parts.scheme == "smtps" else "starttls"
    if "starttls" in options:
        if parts.scheme == "smtps" or options["starttls"] != "off":
            raise fail("starttls=off is the only value, and only for smtp://")
        security = "none"
    username = unquote(parts.username or "")
    password = unquote(parts.password or "")
    if bool(username) != bool(password):
        raise fail("a login needs both a user and a password (smtp://user:password@host)")
    if username and security == "none":
        raise fail("a login over starttls=off would send the password in clear")
    return SmtpTarget(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[security],
        security=security,
        username=username,
        password=SecretStr(password),
    )


def tls_context(target: SmtpTarget) -> ssl.SSLContext | None:
    if target.security == "none":
        return None
    return ssl.create_default_context(cafile=target.ca_file)


def smtp_error(error: Exception, *, target: SmtpTarget, recipient: str) -> ApplicationError:
    """The taxonomy's error for what aiosmtplib raised (see the module's notes); `recipient`
    as the message names it."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        if error.code in _LOGIN_REFUSED:
            return permanent(
                ReasonCode.CONFIGURATION,
                f"SMTP {target.redacted()} refused our login ({error.code} {error.message}): "
                "check the user and password in Q2C_SMTP_URL",
            )
        return _transient(f"SMTP {target.redacted()} login: {error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return _answer(error.code, error.message, recipient=recipient, target=target)
    if isinstance(error, ssl.SSLCertVerificationError):
        return permanent(
            ReasonCode.CONFIGURATION,
            f"SMTP {target.redacted()}: the server's certificate is not trusted: "
            f"{error.verify_message}",
        )
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPTimeoutError | OSError):
        return _transient(f"SMTP {target.redacted()} unreachable: {error}")
    # No code from the server: e.g. it offers no STARTTLS, which smtp:// requires.
    return permanent(
        ReasonCode.CONFIGURATION, f"SMTP {target.redacted()}: {error}; check Q2C_SMTP_URL"
    )


def _answer(code: int, text: str, *, recipient: str, target: SmtpTarget) -> ApplicationError:
    reply = f"{code} {text}".strip()
    if code >= 500:
        return permanent(
            ReasonCode.DELIVERY_FAILED,
            f"SMTP {target.host}:{target.port} refused delivery to {recipient}: {reply}",
        )
    return _transient(f"SMTP {target.host}:{target.port} deferred delivery to {recipient}: {reply}")


def _transient(message: str) -> ApplicationError:
    return ApplicationError(message, type=TRANSIENT)
