"""A real SMTP server on loopback (aiosmtpd) for the delivery tests."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    """The app's e-mail settings pointed at a fresh server; yields its inbox."""
    inbox = Inbox()
    with socket.socket() as probe:  # a free port on loopback
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    old = dict(app.config["SWAT"])
    app.config["SWAT"].update(smtp_host="127.0.0.1", smtp_port=port, mail_from="swat@pref.example.jp")
    yield inbox
    controller.stop()
    app.config["SWAT"].clear()
    app.config["SWAT"].update(old)
