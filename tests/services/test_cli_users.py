"""`swat users` as an operator administers accounts from the shell: the same rules and the same
audit trail as the users page, and a password never on the command line."""

from __future__ import annotations

import json

from sqlalchemy import select
from werkzeug.security import check_password_hash

from swat.extensions import db
from swat.models import AuditEvent, User, UserSession
from swat.services import accounts

NEW = "harbour lantern blue 2099"


def _cli(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def _user(name):
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == name))


def test_list_and_show(app, users):
    listed = _cli(app, "list", "--role", "agent")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["agent", "agent2"] and lines[-1] == "2 account(s)"
    shown = _cli(app, "show", "AGENT")
    assert shown.exit_code == 0
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines())
    assert sorted(fields["themes"].strip().split(", ")) == ["citizen-services", "healthcare"]
    assert fields["role"].strip() == "agent" and fields["must change password"].strip() == "no"
    assert "pbkdf2" not in shown.stdout and "scrypt" not in shown.stdout  # no hash
    assert _cli(app, "show", "nobody").exit_code == 1


def test_role_department_and_active_changes_are_audited_and_end_sessions(app, users, clock):
    accounts.start_session(db.session, clock.now(), users["agent2"], "192.0.2.1")
    db.session.commit()
    assert _cli(app, "set-role", "agent2", "lead").exit_code == 0
    assert _user("agent2").role == "lead"
    assert db.session.scalars(select(UserSession.revoked_at)).one() is not None
    assert _cli(app, "set-department", "agent2", "health-medical").exit_code == 0
    assert _user("agent2").department_id == "health-medical"
    refused = _cli(app, "set-department", "staff_health", "-")  # staff need a department
    assert refused.exit_code == 1 and "department" in refused.output.lower()
    assert _cli(app, "deactivate", "agent2").exit_code == 0 and not _user("agent2").active
    assert _cli(app, "reactivate", "agent2").exit_code == 0 and _user("agent2").active
    kinds = [
        (e.kind, e.source, e.actor_id)
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.subject_id == users["agent2"].id).order_by(AuditEvent.id)
        )
    ][-4:]
    assert kinds == [
        ("role_changed", "cli", None),
        ("department_changed", "cli", None),
        ("deactivated", "cli", None),
        ("activated", "cli", None),
    ]


def test_reset_password_reads_stdin_forces_a_change_and_refuses_a_weak_one(app, users):
    weak = _cli(app, "reset-password", "agent", "--password-stdin", input="password1234\n")
    assert weak.exit_code == 1 and "too easy to guess" in weak.output
    done = _cli(app, "reset-password", "agent", "--password-stdin", input=NEW + "\n")
    assert done.exit_code == 0, done.output
    agent = _user("agent")
    assert check_password_hash(agent.password_hash, NEW) and agent.must_change_password
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "password_reset")).one()
    assert (event.source, event.actor_id) == ("cli", None) and NEW not in json.dumps([event.before, event.after])


def test_a_prompt_asks_twice_and_the_command_line_takes_no_password(app, users):
    mismatch = _cli(app, "reset-password", "agent", input=f"{NEW}\nsomething else\n{NEW}\n{NEW}\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()
    assert _cli(app, "create", "--username", "mori", "--password", NEW, "--role", "agent").exit_code == 2
    made = _cli(app, "create", "--username", "mori", "--role", "admin", input=f"{NEW}\n{NEW}\n")
    assert made.exit_code == 0, made.output
    assert _user("mori").must_change_password
