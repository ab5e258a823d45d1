"""Senders: what hands a notice to the outside world, one per channel.

A sender has one method, ``send(notice)``: it returns when the message was accepted, and
raises :class:`SendError` when it was not, with a reason that holds no personal data.
``permanent`` errors (the gateway refused *this* message: an HTTP 4xx other than 429, an
SMTP 5xx for the recipient) are not retried; every other error is, with back-off.
``unavailable`` errors (connection refused, timeout) say the sender itself is down: the
worker stops using that channel until its next run, so one outage does not use up the
attempts of every notice waiting.

- :class:`ConsoleSender` (the default) prints one line per notice, address masked.
- :class:`SmtpSender` sends email with the standard library's ``smtplib``.
- :class:`HttpSmsSender` POSTs ``{"to": ..., "text": ...}`` to a generic SMS gateway.

``in-app`` notices need no sender: the worker marks them sent and the ``/notices`` page
lists them. :func:`senders_from_settings` picks the senders a region is configured for.

No sender ever writes a clear phone number or email address to a log or an error:
:func:`mask_address` and :func:`scrub` are used on everything that leaves this module.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import make_msgid
from http.client import HTTPMessage
from typing import IO, Protocol, TextIO

from puhui.errors import PuhuiError
from puhui.identifiers import mask_identifier
from puhui.notices.models import Notice
from puhui.settings import Settings

log = logging.getLogger("puhui.notices")

#: Longest reason kept in ``notices.last_error`` (the column's size).
MAX_REASON = 500

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A mainland mobile number (optionally +86), or a person id (17 digits and a check digit).
_PHONE = re.compile(r"(?<![\dA-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_PERSON_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


class SendError(Exception):
    """A notice was not accepted. ``reason`` is short and holds no personal data.

    ``permanent``: sending this notice again cannot succeed (it goes to ``dead`` at once).
    ``unavailable``: the sender itself is down (leave its other notices for the next run).
    """

    def __init__(self, reason: str, *, permanent: bool = False, unavailable: bool = False):
        super().__init__(reason)
        self.reason = scrub(reason)
        self.permanent = permanent
        self.unavailable = unavailable and not permanent


class Sender(Protocol):
    """Delivers one notice or raises :class:`SendError`."""

    def send(self, notice: Notice) -> None: ...


class SenderConfigError(PuhuiError):
    """A sender is chosen that its settings do not describe."""

    http_status = 500


def mask_email(address: str) -> str:
    """``zhang.san@example.com`` → ``z***@example.com``."""
    local, at, domain = address.strip().partition("@")
    if not at:
        return mask_identifier(address.strip(), 1, 1)
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """``13812345678`` → ``138****5678``; a short or odd number keeps less."""
    value = number.strip()
    return mask_identifier(value, 3, 4) if len(value) >= 9 else mask_identifier(value, 1, 1)


def mask_address(channel: str, address: str | None) -> str:
    """The display form of a notice's address: what logs, pages and the API may show."""
    if not address:
        return ""
    return mask_email(address) if channel == "email" or "@" in address else mask_phone(address)


def scrub(text: str) -> str:
    """``text`` with every email address, mobile number and person id in it masked, cut to
    :data:`MAX_REASON` characters: safe for logs and ``last_error``."""
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    text = _PERSON_ID.sub(lambda m: mask_identifier(m.group(0)), text)
    text = _PHONE.sub(lambda m: mask_phone(m.group(0)), text)
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def _require_address(notice: Notice) -> str:
    if not notice.address:
        raise SendError(f"notice {notice.id} has no address", permanent=True)
    return notice.address


class ConsoleSender:
    """Writes one line per notice to ``stream`` (default stdout): id, channel, the masked
    address, kind and the text (with any phone, email or person id in it masked).

    The default sender of every channel: a region delivers nothing outside until an
    operator configures SMTP or an SMS gateway.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, notice: Notice) -> None:
        stream = self._stream or sys.stdout
        to = mask_address(notice.channel, notice.address) or f"user {notice.user_id}"
        text = scrub(f"{notice.subject} {notice.body}" if notice.subject else notice.body)
        stream.write(f"notice {notice.id} {notice.channel} → {to} [{notice.kind}] {text}\n")
        stream.flush()


class SmtpSender:
    """Email through an SMTP server (``smtplib``): STARTTLS or implicit TLS, optional login.

    One connection per notice: simple, and a server that drops idle connections costs
    nothing. Recipient refusals and rejected messages with a 5xx code are permanent; 4xx
    codes are retried; a server that cannot be reached, refuses the login or the sender
    address is unavailable (retried, and its other notices wait for the next run).
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.user = user
        self.password = password
        self.starttls = starttls and not use_ssl
        self.use_ssl = use_ssl
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _message(self, notice: Notice, to: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = notice.subject or notice.body.splitlines()[0][:60]
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(notice.body)
        return message

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.use_ssl:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.starttls:
            client.ehlo()
            client.starttls(context=context)
            client.ehlo()
        return client

    def send(self, notice: Notice) -> None:
        to = _require_address(notice)
        message = self._message(notice, to)
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(
                f"SMTP server unreachable: {type(error).__name__}", unavailable=True
            ) from None
        try:
            if self.user:
                client.login(self.user, self.password or "")
            client.send_message(message, from_addr=self.sender, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _text in error.recipients.values()]
            code = codes[0] if codes else 0
            raise SendError(f"SMTP {code}: recipient refused", permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as error:
            raise SendError(f"SMTP {error.smtp_code}: login refused", unavailable=True) from None
        except smtplib.SMTPSenderRefused as error:
            raise SendError(
                f"SMTP {error.smtp_code}: sender address refused", unavailable=True
            ) from None
        except smtplib.SMTPResponseException as error:
            raise SendError(
                f"SMTP {error.smtp_code}: {type(error).__name__}",
                permanent=error.smtp_code >= 500,
            ) from None
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"SMTP failed: {type(error).__name__}", unavailable=True) from None
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A gateway that redirects a POST is misconfigured: show its 3xx, do not follow it."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> None:
        return None


class HttpSmsSender:
    """SMS through a generic HTTP gateway: ``POST url`` with ``{"to": phone, "text": body}``
    as JSON, and ``Authorization: Bearer token`` when a token is set.

    A 2xx answer means sent. 429 and 5xx answers are retried; a timeout or a refused
    connection is retried and marks the gateway unavailable for this run; any other 4xx
    (and a 3xx: the URL is wrong) is permanent. The gateway's answer body is never kept: it
    may repeat the phone number.
    """

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(self, notice: Notice) -> None:
        to = _require_address(notice)
        payload = json.dumps({"to": to, "text": notice.body}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "*/*"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                response.read()
        except urllib.error.HTTPError as error:
            status = int(error.code)
            error.close()
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                raise SendError(
                    f"SMS gateway timed out after {self.timeout:g}s", unavailable=True
                ) from None
            raise SendError(
                f"SMS gateway unreachable: {type(reason).__name__}", unavailable=True
            ) from None
        if 200 <= status < 300:
            return
        if status == 429 or status >= 500:
            raise SendError(f"SMS gateway answered HTTP {status}")
        raise SendError(f"SMS gateway refused the message: HTTP {status}", permanent=True)


def senders_from_settings(cfg: Settings, stream: TextIO | None = None) -> dict[str, Sender]:
    """The sender of the ``sms`` and ``email`` channels that ``cfg`` chooses.

    Raises :class:`SenderConfigError` (one clear line) when a sender is chosen without the
    settings it needs, so ``puhui worker`` refuses to start rather than fail every notice.
    """
    console = ConsoleSender(stream)
    senders: dict[str, Sender] = {"sms": console, "email": console}
    if cfg.notice_sms_sender == "http":
        if not cfg.sms_gateway_url:
            raise SenderConfigError(
                "短信发送方式为 http，但未设置 PUHUI_SMS_GATEWAY_URL",
                "PUHUI_NOTICE_SMS_SENDER is http but PUHUI_SMS_GATEWAY_URL is not set",
            )
        if not cfg.sms_gateway_url.startswith(("http://", "https://")):
            raise SenderConfigError(
                "PUHUI_SMS_GATEWAY_URL 须以 http:// 或 https:// 开头",
                "PUHUI_SMS_GATEWAY_URL must start with http:// or https://",
            )
        token = cfg.sms_gateway_token.get_secret_value() if cfg.sms_gateway_token else None
        senders["sms"] = HttpSmsSender(
            cfg.sms_gateway_url, token=token, timeout=cfg.sms_gateway_timeout
        )
    if cfg.notice_email_sender == "smtp":
        if not cfg.smtp_host or not cfg.smtp_from:
            raise SenderConfigError(
                "邮件发送方式为 smtp，但未设置 PUHUI_SMTP_HOST 和 PUHUI_SMTP_FROM",
                "PUHUI_NOTICE_EMAIL_SENDER is smtp but PUHUI_SMTP_HOST and PUHUI_SMTP_FROM "
                "are not both set",
            )
        senders["email"] = SmtpSender(
            cfg.smtp_host,
            cfg.smtp_port,
            sender=cfg.smtp_from,
            user=cfg.smtp_user,
            password=cfg.smtp_password.get_secret_value() if cfg.smtp_password else None,
            starttls=cfg.smtp_starttls,
            use_ssl=cfg.smtp_ssl,
            timeout=cfg.smtp_timeout,
        )
    return senders


def describe_senders(senders: dict[str, Sender]) -> str:
    """``sms: HttpSmsSender, email: ConsoleSender``: for the worker's start-up line."""
    return ", ".join(f"{channel}: {type(s).__name__}" for channel, s in sorted(senders.items()))
