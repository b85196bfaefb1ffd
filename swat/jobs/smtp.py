"""The connection to the SMTP server the outbox sends through.

With `smtp_tls` (implicit TLS, usually port 465) or `smtp_starttls` the server's certificate and
host name are checked against the system's CAs, or against `smtp_ca_file` for a private CA;
Python's smtplib checks neither unless it is given such a context. A server that does not offer
STARTTLS when it is asked for is an error, never a fall back to plain text. The password goes
over a checked TLS connection only, or to a relay on this host (loopback).
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Mapping
from typing import Any

TIMEOUT_SECONDS = 10


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_password_problem(settings: Mapping[str, Any]) -> str | None:
    """Why these settings would send the SMTP password in clear text, or None."""
    encrypted = settings["smtp_tls"] or settings["smtp_starttls"]
    if settings["smtp_username"] and not encrypted and not _loopback(settings["smtp_host"]):
        return (
            "smtp_username is set but the connection to smtp_host is not encrypted: "
            "set smtp_starttls or smtp_tls (the password is never sent in clear text)"
        )
    return None


def connect(settings: Mapping[str, Any]) -> smtplib.SMTP:
    """An SMTP connection, encrypted and signed in as the settings say; the caller closes it."""
    host, port = settings["smtp_host"], settings["smtp_port"]
    if (problem := plain_password_problem(settings)) is not None:
        raise RuntimeError(problem)
    context = ssl.create_default_context(cafile=settings["smtp_ca_file"] or None)
    smtp: smtplib.SMTP
    if settings["smtp_tls"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    try:
        if settings["smtp_starttls"] and not settings["smtp_tls"]:
            smtp.starttls(context=context)
        if settings["smtp_username"]:
            smtp.login(settings["smtp_username"], settings["smtp_password"])
    except BaseException:
        smtp.close()
        raise
    return smtp
