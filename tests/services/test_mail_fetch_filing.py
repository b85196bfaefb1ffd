"""The corpus through a real IMAP server: every message of tests/mail/ put into Dovecot's
INBOX, `swat mail fetch` run (as the scheduler runs it each minute), and each message then
found as `swat mail ingest` leaves it (tests/services/test_mail_corpus_filing.py), on the
suite's database. Also: a message over the limit is refused from its header alone, and the
mailbox ends empty with everything in the done folder."""

from __future__ import annotations

from sqlalchemy import select

from swat.extensions import db
from swat.models import InboundMail
from tests.services.test_mail_corpus_filing import CORPUS, OUTCOMES, check_what_a_person_reads, corpus, expected


def test_the_corpus_through_swat_mail_fetch(app, desk, store, dovecot, monkeypatch):
    for key, value in dovecot.settings().items():
        monkeypatch.setitem(app.config["SWAT"], key, value)
    for name in corpus():
        dovecot.append((CORPUS / f"{name}.eml").read_bytes())
    db.session.commit()  # the command works in its own sessions
    r = app.test_cli_runner().invoke(args=["mail", "fetch"])
    counts: dict[str, int] = {}
    for status, _reason in OUTCOMES.values():
        counts[status] = counts.get(status, 0) + 1
    said = ", ".join(f"{n} {word}" for word, n in sorted(counts.items()))
    assert (r.exit_code, r.stdout.strip()) == (0, said)
    rows = {row.message_id: row for row in db.session.scalars(select(InboundMail))}
    assert {row.source for row in rows.values()} == {"imap"}
    for name in corpus():
        check_what_a_person_reads(name, rows[expected(name)["message_id"]], desk, store)
    assert dovecot.messages("INBOX") == []
    assert len(dovecot.messages("SWAT.Processed")) == len(corpus())  # SWAT/Processed in Maildir++
    # Read again: nothing new, nothing taken twice.
    db.session.commit()
    r = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert (r.exit_code, r.stdout.strip()) == (0, "no new mail")


def test_a_message_over_the_limit_is_refused_from_its_header(app, desk, dovecot, monkeypatch):
    for key, value in dovecot.settings().items():
        monkeypatch.setitem(app.config["SWAT"], key, value)
    monkeypatch.setitem(app.config["SWAT"], "max_request_bytes", 600)
    raw = (CORPUS / "attach_rfc2231.eml").read_bytes()
    assert len(raw) > 600
    dovecot.append(raw)
    db.session.commit()
    r = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert (r.exit_code, r.stdout.strip()) == (0, "1 refused")
    row = db.session.scalars(select(InboundMail)).one()
    assert (row.status, row.reason, row.size_bytes) == ("refused", "too_large", len(raw))
    assert dovecot.messages("INBOX") == []


def test_without_a_mailbox_the_command_says_so(app):
    r = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert r.exit_code == 1 and "no mailbox is configured (imap_host)" in r.output


def test_the_scheduler_records_each_mailbox_run(app, desk, dovecot, monkeypatch):
    """As the other jobs: a run that read the mailbox leaves its counts in job_runs (the status
    page and /metrics read them), one that could not read it a failed run with the reason."""
    from swat.jobs import runner
    from swat.models import JobRun

    for key, value in dovecot.settings().items():
        monkeypatch.setitem(app.config["SWAT"], key, value)
    dovecot.append((CORPUS / "attach_rfc2231.eml").read_bytes())
    db.session.commit()
    assert runner.run_mail(app) == {"filed": 1, "errors": 0, "left": 0, "gone": 0}
    run = db.session.get(JobRun, "mail-fetch")
    assert run.ok and '"filed": 1' in run.counts
    db.session.rollback()  # the job writes its row in its own session
    monkeypatch.setitem(app.config["SWAT"], "imap_password", "not-the-password")
    assert runner.run_mail(app) is None
    db.session.expire_all()
    run = db.session.get(JobRun, "mail-fetch")
    assert not run.ok and run.error.startswith("MailFetchError") and run.ok_at is not None
