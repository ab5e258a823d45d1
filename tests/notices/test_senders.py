"""The senders against real local servers: an HTTP SMS gateway (``http.server``) and a small
SMTP server (a socket in a thread: aiosmtpd is not installed); console masking; the
choice of senders from settings."""

from __future__ import annotations

import base64
import io
import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from puhui.notices.models import Notice
from puhui.notices.senders import (
    ConsoleSender,
    HttpSmsSender,
    SenderConfigError,
    SendError,
    SmtpSender,
    mask_address,
    scrub,
    senders_from_settings,
)
from puhui.settings import Settings
from tests.notices.factories import EMAIL, PHONE


def notice(channel: str = "sms", **values: Any) -> Notice:
    values.setdefault("address", EMAIL if channel == "email" else PHONE)
    values.setdefault("body", "您的贷款申请已受理")
    return Notice(id=values.pop("id", 7), channel=channel, kind="application.stage", **values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- masking


def test_addresses_are_masked() -> None:
    assert mask_address("sms", "13812345678") == "138****5678"
    assert mask_address("sms", "+8613812345678") == "+86*******5678"
    assert mask_address("email", "zhang.san@example.com") == "z***@example.com"
    assert mask_address("inapp", None) == ""
    text = scrub(f"联系 {PHONE} 或 {EMAIL}，身份证 33260119900101123X，申请号 20261125000123")
    assert PHONE not in text
    assert EMAIL not in text
    assert "33260119900101123X" not in text
    assert "20261125000123" in text  # an application number is not personal data
    assert len(scrub("x" * 2000)) == 500


def test_console_prints_one_masked_line_per_notice() -> None:
    out = io.StringIO()
    sender = ConsoleSender(out)
    sender.send(notice("sms", body=f"已受理，客服回电 {PHONE}"))
    sender.send(notice("email", id=8, subject="申请进度"))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("notice 7 sms → 138****5678 [application.stage] 已受理")
    assert "z***@example.com" in lines[1]
    assert "申请进度" in lines[1]
    assert PHONE not in out.getvalue()
    assert EMAIL not in out.getvalue()


# --------------------------------------------------------------------------- HTTP SMS


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.received: list[dict[str, Any]] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def log_message(self, *_args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(
            {
                "path": self.path,
                "json": json.loads(body),
                "auth": self.headers.get("Authorization"),
                "type": self.headers.get("Content-Type"),
            }
        )
        if self.path == "/slow":
            self.server.release.wait(timeout=30)
            self.close_connection = True
            return  # the sender gave up (its timeout): answering would hit a closed socket
        status = {"/ok": 202, "/fail": 500, "/busy": 429, "/bad": 400, "/moved": 302}.get(
            self.path, 200
        )
        payload = json.dumps({"to": json.loads(body)["to"], "error": "x"}).encode()
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def test_http_sms_posts_json_with_the_token(gateway: Gateway) -> None:
    HttpSmsSender(f"{gateway.url}/ok", token="s3cret", timeout=5).send(notice())
    (request,) = gateway.received
    assert request["json"] == {"to": PHONE, "text": "您的贷款申请已受理"}
    assert request["auth"] == "Bearer s3cret"
    assert request["type"].startswith("application/json")
    HttpSmsSender(f"{gateway.url}/ok", timeout=5).send(notice())
    assert gateway.received[1]["auth"] is None


@pytest.mark.parametrize(
    ("path", "permanent", "unavailable", "reason"),
    [
        ("/fail", False, False, "SMS gateway answered HTTP 500"),
        ("/busy", False, False, "SMS gateway answered HTTP 429"),
        ("/bad", True, False, "SMS gateway refused the message: HTTP 400"),
        ("/moved", True, False, "SMS gateway refused the message: HTTP 302"),
    ],
)
def test_http_sms_errors(
    gateway: Gateway, path: str, permanent: bool, unavailable: bool, reason: str
) -> None:
    with pytest.raises(SendError) as raised:
        HttpSmsSender(gateway.url + path, timeout=5).send(notice())
    assert (raised.value.permanent, raised.value.unavailable) == (permanent, unavailable)
    assert raised.value.reason == reason
    assert PHONE not in raised.value.reason  # the answer repeated it; it is not kept
    assert len(gateway.received) == 1  # a redirect is not followed


def test_http_sms_timeout_is_retried_and_marks_the_gateway_down(gateway: Gateway) -> None:
    with pytest.raises(SendError) as raised:
        HttpSmsSender(f"{gateway.url}/slow", timeout=0.3).send(notice())
    assert raised.value.unavailable
    assert not raised.value.permanent
    assert raised.value.reason == "SMS gateway timed out after 0.3s"


def test_http_sms_connection_refused_is_retried() -> None:
    with pytest.raises(SendError) as raised:
        HttpSmsSender(f"http://127.0.0.1:{free_port()}/sms", timeout=5).send(notice())
    assert raised.value.unavailable
    assert raised.value.reason.startswith("SMS gateway unreachable")


# --------------------------------------------------------------------------- SMTP


class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP for smtplib: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, starttls: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.messages: list[dict[str, Any]] = []
        self.logins: list[str] = []
        self.refuse: dict[str, str] = {}  # recipient → reply
        self.advertise_starttls = starttls


class SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250-test")
                if self.server.advertise_starttls:
                    self.reply("250-STARTTLS")
                self.reply("250-AUTH PLAIN")
                self.reply("250 8BITMIME")
            elif verb == "AUTH":
                self.server.logins.append(base64.b64decode(command.split()[2]).decode())
                self.reply("235 ok")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip()
                self.reply("250 ok")
            elif verb == "RCPT":
                to = command.split(":", 1)[1].strip().strip("<>")
                refusal = self.server.refuse.get(to)
                if refusal:
                    self.reply(refusal)
                else:
                    recipients.append(to)
                    self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.messages.append(
                    {"from": sender, "to": recipients, "data": data.replace(b"\r\n", b"\n")}
                )
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def smtp_sender(server: SmtpServer, **options: Any) -> SmtpSender:
    options.setdefault("starttls", False)
    return SmtpSender(
        "127.0.0.1", server.server_address[1], sender="notices@puhui.example", **options
    )


def test_smtp_sends_a_utf8_email_after_login(smtp_server: SmtpServer) -> None:
    sender = smtp_sender(smtp_server, user="puhui", password="pw")
    sender.send(notice("email", subject="申请进度", body="您的贷款申请已受理。\n第二行"))
    (sent,) = smtp_server.messages
    assert sent["to"] == [EMAIL]
    assert "notices@puhui.example" in sent["from"]
    assert smtp_server.logins == ["\0puhui\0pw"]
    message = message_from_bytes(sent["data"], policy=policy.default)
    assert message["Subject"] == "申请进度"
    assert message["To"] == EMAIL
    assert message.get_content().strip() == "您的贷款申请已受理。\n第二行"


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 <zhang.san@example.com> no such user", True), ("451 4.7.1 try later", False)],
)
def test_smtp_refused_recipient(smtp_server: SmtpServer, reply: str, permanent: bool) -> None:
    smtp_server.refuse[EMAIL] = reply
    with pytest.raises(SendError) as raised:
        smtp_sender(smtp_server).send(notice("email"))
    assert raised.value.permanent is permanent
    assert not raised.value.unavailable
    assert EMAIL not in raised.value.reason
    assert raised.value.reason.startswith(f"SMTP {reply[:3]}")
    assert smtp_server.messages == []


def test_smtp_server_down_or_without_starttls_is_unavailable(smtp_server: SmtpServer) -> None:
    down = SmtpSender("127.0.0.1", free_port(), sender="n@puhui.example", starttls=False)
    with pytest.raises(SendError) as raised:
        down.send(notice("email"))
    assert raised.value.unavailable
    with pytest.raises(SendError) as raised:
        smtp_sender(smtp_server, starttls=True).send(notice("email"))  # not offered
    assert raised.value.unavailable
    assert raised.value.reason == "SMTP server unreachable: SMTPNotSupportedError"


# --------------------------------------------------------------------------- settings


def test_senders_from_settings(tmp_path: Path) -> None:
    default = senders_from_settings(Settings(home=tmp_path))
    assert {type(s).__name__ for s in default.values()} == {"ConsoleSender"}
    configured = senders_from_settings(
        Settings(
            home=tmp_path,
            notice_sms_sender="http",
            sms_gateway_url="https://sms.example/send",
            sms_gateway_token="t",
            sms_gateway_timeout=3,
            notice_email_sender="smtp",
            smtp_host="mail.example",
            smtp_port=465,
            smtp_ssl=True,
            smtp_from="notices@puhui.example",
        )
    )
    sms, email = configured["sms"], configured["email"]
    assert isinstance(sms, HttpSmsSender)
    assert (sms.url, sms.token, sms.timeout) == ("https://sms.example/send", "t", 3)
    assert isinstance(email, SmtpSender)
    assert (email.host, email.port, email.use_ssl, email.starttls) == (
        "mail.example",
        465,
        True,
        False,
    )
    with pytest.raises(SenderConfigError, match="PUHUI_SMS_GATEWAY_URL"):
        senders_from_settings(Settings(home=tmp_path, notice_sms_sender="http"))
    with pytest.raises(SenderConfigError, match="PUHUI_SMTP_HOST"):
        senders_from_settings(Settings(home=tmp_path, notice_email_sender="smtp"))


def test_sender_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUHUI_NOTICE_SMS_SENDER", "http")
    monkeypatch.setenv("PUHUI_SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")
    monkeypatch.setenv("PUHUI_NOTICE_MAX_ATTEMPTS", "5")
    cfg = Settings(home=tmp_path)
    assert cfg.notice_max_attempts == 5
    assert isinstance(senders_from_settings(cfg)["sms"], HttpSmsSender)
