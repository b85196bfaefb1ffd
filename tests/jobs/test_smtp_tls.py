"""The outbox's SMTP connection over TLS: a real aiosmtpd server on loopback with a certificate
from a test CA (tests/fixtures/dovecot.py makes them). The certificate is checked, the password
goes over a checked connection only, and the settings refuse what would send it in clear."""

import socket
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from swat.extensions import db
from swat.jobs import smtp as smtp_connection
from swat.jobs.delivery import deliver
from swat.models import OutboxMessage, User
from swat.services import tickets
from swat.settings import SettingsError, load_settings
from tests.fixtures.smtp import Inbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_context(certs) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certs.cert_file), str(certs.key_file))
    return context


class Logins:
    def __init__(self):
        self.seen = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((auth_data.login.decode(), auth_data.password.decode(), encrypted))
        return AuthResult(success=auth_data.password == b"s3cret-pass")


@pytest.fixture
def tls_smtp(app, mail_certificates):
    """Start a server: `tls_smtp(implicit=False)` offers STARTTLS (and requires it), `implicit=True`
    speaks TLS from the first byte. Returns (inbox, logins); the app's settings point at it."""
    started = []
    old = dict(app.config["SWAT"])

    def start(implicit: bool, host: str = "127.0.0.1"):
        inbox, logins, port = Inbox(), Logins(), _free_port()
        context = _server_context(mail_certificates)
        if implicit:
            controller = Controller(
                inbox, hostname=host, port=port, ssl_context=context, authenticator=logins, auth_require_tls=False
            )  # aiosmtpd offers AUTH over implicit TLS only so (it counts STARTTLS alone as TLS)
        else:
            controller = Controller(
                inbox,
                hostname=host,
                port=port,
                tls_context=context,
                require_starttls=True,
                authenticator=logins,
                auth_require_tls=True,
            )
        controller.start()
        started.append(controller)
        app.config["SWAT"].update(
            smtp_host=host,
            smtp_port=port,
            smtp_tls=implicit,
            smtp_starttls=not implicit,
            smtp_ca_file=str(mail_certificates.ca_file),
            smtp_username="desk",
            smtp_password="s3cret-pass",
            mail_from="swat@pref.example.jp",
        )
        return inbox, logins

    yield start
    for controller in started:
        controller.stop()
    app.config["SWAT"].clear()
    app.config["SWAT"].update(old)


def _reply_waiting(make_ticket, users, clock, store, limits):
    u = db.session.get(User, users["staff_health"].id)
    u.email = "kenko@pref.example.jp"
    db.session.commit()
    t = make_ticket()
    db.session.query(OutboxMessage).delete()
    tickets.claim_ticket(db.session, users["agent"], clock.now(), t)
    tickets.add_reply(db.session, users["agent"], clock.now(), t, "回答します", [], store, limits)
    db.session.commit()
    return t


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_mail_goes_over_a_checked_tls_connection(implicit, tls_smtp, make_ticket, users, clock, store, limits, app):
    inbox, logins = tls_smtp(implicit)
    t = _reply_waiting(make_ticket, users, clock, store, limits)
    assert deliver(clock.now())["sent"] == 1, db.session.scalars(select(OutboxMessage.last_error)).all()
    ((rcpts, msg),) = inbox.messages
    assert rcpts == ["kenko@pref.example.jp"]
    assert f"/tickets/{t.number}" in msg.get_body(preferencelist=("plain",)).get_content()
    # signed in once, with the password, over TLS
    assert logins.seen == [("desk", "s3cret-pass", True)]


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_a_certificate_from_another_ca_stops_before_the_password(
    implicit, tls_smtp, mail_certificates, make_ticket, users, clock, store, limits, app
):
    inbox, logins = tls_smtp(implicit)
    app.config["SWAT"]["smtp_ca_file"] = str(mail_certificates.other_ca_file)
    _reply_waiting(make_ticket, users, clock, store, limits)
    assert deliver(clock.now()) == {"sent": 0, "retry": 1, "failed": 0}
    assert inbox.messages == [] and logins.seen == []
    message = db.session.scalars(select(OutboxMessage)).one()
    assert "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert message.sent_at is None  # kept for the next try, not lost


def test_the_host_name_is_checked_too(tls_smtp, app):
    inbox, logins = tls_smtp(False, host="127.0.0.2")  # the certificate names 127.0.0.1 and localhost
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        smtp_connection.connect(app.config["SWAT"])
    assert logins.seen == []


def test_a_password_is_never_sent_in_clear_text_to_another_host():
    with pytest.raises(SettingsError, match="not encrypted"):
        load_settings(
            environ={"SWAT_SMTP_HOST": "mail.pref.example.jp", "SWAT_SMTP_USERNAME": "desk", "SWAT_SECRET_KEY": "k"}
        )
    with pytest.raises(SettingsError, match="not both"):
        load_settings(environ={"SWAT_SMTP_TLS": "true", "SWAT_SMTP_STARTTLS": "true", "SWAT_SECRET_KEY": "k"})
    settings = {"smtp_host": "mail.pref.example.jp", "smtp_port": 25, "smtp_tls": False, "smtp_starttls": False}
    with pytest.raises(RuntimeError, match="not encrypted"):
        smtp_connection.connect({**settings, "smtp_username": "desk", "smtp_password": "x", "smtp_ca_file": ""})
    # a relay on this host may take it without TLS
    assert smtp_connection.plain_password_problem({**settings, "smtp_host": "127.0.0.1", "smtp_username": "d"}) is None
