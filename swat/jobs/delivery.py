"""Delivering the outbox: e-mail over SMTP and the chat webhook, with retries and backoff.

Messages are claimed with a lease (a conditional UPDATE), so two delivery
jobs never send the same message at once; a job that dies mid-way releases
its claims when the lease runs out. A message sent but not yet marked (a
crash between the two) can go out again after the lease: each e-mail carries
a Message-ID made from its outbox id, so the receiving side sees the same
message, not a new one. What an e-mail looks like is `mail_compose`.
"""

from __future__ import annotations

import json
import smtplib
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from .. import messages
from ..extensions import db
from ..models import OutboxMessage, Ticket
from ..services import directory, operations, passwords
from . import smtp as smtp_connection
from .mail_compose import compose

# How long a claim holds. A run starts no message after its RUN_SECONDS, and one message's send
# is bounded by the SMTP timeouts (jobs.smtp.TIMEOUT_SECONDS on each of a dozen steps, twice
# when the connection drops): about 5 minutes at worst. The lease is twice that, so a claim
# never lapses while its run still holds it; a run that died leaves its claims for 10 minutes.
LEASE = timedelta(minutes=10)
BATCH = 50
MAX_ATTEMPTS = 8
# A run sends batch after batch until nothing is due or this much time has gone (then the
# next run, 30 seconds later, goes on), so a storm drains at the SMTP server's pace, not at
# one batch per run; the scheduler never starts a second run while one is going.
RUN_SECONDS = 25.0
elapsed_clock = time.monotonic  # what a run's time is read from


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes, at most 6 hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


@dataclass(frozen=True)
class Job:
    """What a send needs, copied out of the row so no transaction stays open on the wire."""

    id: int
    channel: str
    recipient: str
    locale: str
    kind: str
    params: str
    attempts: int
    token: str
    # The Message-ID of the mail the message's consultation was filed by, if it was.
    thread: str | None = None
    # A password-reset mail whose link expired while it waited (an outage): not sent.
    expired: bool = False


def _claim(now: datetime) -> list[Job]:
    token = uuid.uuid4().hex
    claimable = (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.discarded_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    ids = select(OutboxMessage.id).where(*claimable).order_by(OutboxMessage.id).limit(BATCH)
    # The conditions are repeated on the UPDATE itself: a second job that waited for the
    # row lock re-checks them against the claimed row and leaves it alone.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids.scalar_subquery()), *claimable)
        .values(claim_token=token, claimed_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.claim_token == token).order_by(OutboxMessage.id)
    ).all()
    threads = _threads(rows)
    jobs = [
        Job(
            m.id,
            m.channel,
            m.recipient,
            m.locale,
            m.kind,
            m.params,
            m.attempts,
            token,
            threads.get(m.id),
            operations.link_expired(m.kind, m.params, m.created_at, now),
        )
        for m in rows
    ]
    db.session.commit()
    return jobs


def _threads(rows) -> dict[int, str]:
    """outbox id -> the Message-ID of the mail its consultation was filed by, for the e-mails
    of such consultations (one query for the batch).

    Read at send time rather than written into the params: the mail intake sets it on the
    ticket once filing (and its receipt) is written, in the same transaction, and every
    notice since, the receipt first, must refer to it."""
    numbers: dict[int, str] = {}
    for m in rows:
        if m.channel == "email":
            number = json.loads(m.params).get("number")
            if isinstance(number, str) and number:
                numbers[m.id] = number
    if not numbers:
        return {}
    found = {
        number: thread
        for number, thread in db.session.execute(
            select(Ticket.number, Ticket.mail_thread_id).where(
                Ticket.number.in_(set(numbers.values())), Ticket.mail_thread_id.is_not(None)
            )
        )
        if thread
    }
    return {oid: found[number] for oid, number in numbers.items() if number in found}


def _finish(job: Job, **values) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == job.id, OutboxMessage.claim_token == job.token)
        .values(claimed_until=None, claim_token=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _base() -> str:
    return current_app.config["SWAT"]["base_url"].rstrip("/")


def _link(kind: str, params: str) -> str:
    """Where the message sends its reader: its consultation; for a digest of escalations,
    the notifications page, where each is acknowledged."""
    if kind == messages.DIGEST:
        return f"{_base()}/notifications"
    return f"{_base()}/tickets/{json.loads(params).get('number', '')}"


# What a server says of one message (a refused sender or recipient, a refused text): the
# connection stays good, smtplib has reset the transaction, and the next message goes on it.
MESSAGE_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


class MailServerDown(Exception):
    """The SMTP server cannot be reached or keeps dropping the connection: the run stops
    sending e-mail, and the messages not tried keep their attempts."""


def _dropped(exc: BaseException) -> bool:
    """The server closed the connection, or said 421 (closing; many relays' limit of messages
    per connection or per minute): a new connection may take the message."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # every recipient refused with 421
        return any(code == 421 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


class Mailer:
    """One SMTP connection for a run's mails, opened for the first and closed at the end of the
    run. A message the server refuses costs only that message; a dropped connection is opened
    again and the message sent once more; a server that cannot be reached is `MailServerDown`."""

    def __init__(self, settings) -> None:
        self._settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, email) -> None:
        for last_try in (False, True):
            try:
                if self._smtp is None:
                    self._smtp = smtp_connection.connect(self._settings)
                self._smtp.send_message(email)
                return
            except BaseException as exc:
                if isinstance(exc, MESSAGE_REFUSALS) and not _dropped(exc):
                    raise  # the message's own fault; the connection goes on
                self.close()
                if not _dropped(exc) or last_try:
                    if isinstance(exc, OSError):  # smtplib's errors included: the server, not the message
                        raise MailServerDown(str(exc) or type(exc).__name__) from exc
                    raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def send_email(msg: Job, mailer: Mailer) -> None:
    s = current_app.config["SWAT"]
    if not s["smtp_host"]:
        raise RuntimeError("no SMTP server is configured (smtp_host)")
    with force_locale(msg.locale or "ja"):
        email = compose(
            outbox_id=msg.id,
            kind=msg.kind,
            params_json=msg.params,
            recipient=msg.recipient,
            thread=msg.thread,
            settings=s,
        )
    mailer.send(email)


def post_webhook(msg: Job, mailer: Mailer) -> None:
    """A JSON POST as LINE WORKS or Slack incoming webhooks take it ({"text": …})."""
    url = current_app.config["SWAT"]["webhook_url"]
    if not url:
        raise RuntimeError("no chat webhook is configured (webhook_url)")
    with force_locale(msg.locale or "ja"):
        if msg.kind == messages.DIGEST:
            text = messages.body(msg.kind, msg.params, _link(msg.kind, msg.params), _base())
        else:
            text = messages.subject(msg.kind, msg.params) + "\n" + _link(msg.kind, msg.params)
    data = json.dumps({"text": text, "kind": msg.kind, "id": msg.id}, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (URL from settings only)
        if response.status >= 300:
            raise RuntimeError(f"webhook answered {response.status}")


SENDERS = {"email": send_email, "webhook": post_webhook}


def _queue_reset_mails(now: datetime) -> None:
    """The password resets asked for since the last run become mails in this one. Whatever
    goes wrong there is logged and rolled back, and the rest of the outbox still goes out."""
    settings = current_app.config["SWAT"]
    try:
        passwords.take_requests(
            db.session(),
            now,
            secret=settings["secret_key"],
            minutes=settings["password_reset_minutes"],
            directory=directory.settings_from(settings),
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        current_app.logger.exception("password-reset requests not handled; they wait for the next run")


def deliver(now: datetime) -> dict[str, int]:
    """Send what is due, batch after batch until `RUN_SECONDS` have gone (checked before each
    message); returns counts of sent, retried and given-up messages.

    Each message is sent outside any database transaction (on SQLite a write
    transaction would hold the lock through the network call), between two
    short ones: the claim of its batch, then its outcome. When the SMTP server cannot be
    reached, the message that found out counts an attempt and the run ends: the other
    messages are released untried, so an outage does not use up their attempts. Whatever
    stops a run (its time, an outage, an interruption) releases the claims it did not try.
    """
    clock = current_app.extensions["swat.clock"]
    counts = {"sent": 0, "retry": 0, "failed": 0}
    _queue_reset_mails(now)
    mailer = Mailer(current_app.config["SWAT"])
    started = elapsed_clock()
    untried: list[Job] = []
    try:
        while untried := _claim(max(now, clock.now())):
            while untried:
                if elapsed_clock() - started >= RUN_SECONDS:
                    return counts
                job = untried.pop(0)
                if not _send(job, mailer, clock, counts):
                    return counts
    finally:
        mailer.close()
        _release(untried)
    return counts


def _release(jobs: list[Job]) -> None:
    """Give back claims not tried, attempts unchanged, for the next run."""
    if not jobs:
        return
    db.session.rollback()
    for token in {j.token for j in jobs}:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([j.id for j in jobs if j.token == token]), OutboxMessage.claim_token == token)
            .values(claimed_until=None, claim_token=None)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _send(job: Job, mailer: Mailer, clock, counts: dict[str, int]) -> bool:
    """Send one message and record what happened; False when the run should stop (the SMTP
    server is down)."""
    if job.expired:
        _finish(job, last_error=operations.EXPIRED_LINK, failed_at=clock.now())
        counts["failed"] += 1
        return True
    try:
        SENDERS[job.channel](job, mailer)
    except Exception as exc:  # any failure of the far side: try again later
        attempts = job.attempts + 1
        current_app.logger.warning("outbox %s (%s) not delivered: %s", job.id, job.channel, exc)
        if attempts >= MAX_ATTEMPTS or "is configured" in str(exc):
            _finish(job, attempts=attempts, last_error=str(exc)[:500], failed_at=clock.now())
            counts["failed"] += 1
        else:
            _finish(job, attempts=attempts, last_error=str(exc)[:500], next_attempt_at=clock.now() + backoff(attempts))
            counts["retry"] += 1
        return not isinstance(exc, MailServerDown)
    _finish(job, attempts=job.attempts + 1, sent_at=clock.now())
    counts["sent"] += 1
    return True
