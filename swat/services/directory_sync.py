"""`swat users sync`: every directory account brought in line with the directory in one pass.

Accounts are created at their first sign-in, never by the sync (a directory holds thousands
who never use the desk). For each account that signs in through the directory, the sync does
what its next sign-in would: role, department, name and address from the directory, and out
(inactive, every session ended) when it left the directory or every mapped group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import ldap3
from ldap3.core.exceptions import LDAPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationError
from ..models import User
from .directory import (
    DirectoryError,
    DirectorySettings,
    Person,
    _attributes,
    _close,
    _person,
    apply_person,
    deactivate,
    service_connection,
)

PAGE = 500


@dataclass
class SyncReport:
    """What one pass changed: user name -> what changed, in words of the shell."""

    changed: dict[str, list[str]] = field(default_factory=dict)
    deactivated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # user name -> why it could not be applied
    unchanged: int = 0
    found: int = 0  # people the directory listed

    def lines(self) -> list[str]:
        out = [f"{name}: {', '.join(what)}" for name, what in sorted(self.changed.items())]
        out += [f"{name}: deactivated (no longer in the directory or in a mapped group)" for name in self.deactivated]
        out += [f"{name}: not changed: {why}" for name, why in sorted(self.failed.items())]
        out.append(
            f"{len(self.changed)} updated, {len(self.deactivated)} deactivated, {self.unchanged} unchanged "
            f"({self.found} people listed by the directory)"
        )
        return out


def everyone(cfg: DirectorySettings) -> dict[str, Person]:
    """Every person the user filter matches, by stable key, read a page at a time."""
    conn = service_connection(cfg)
    try:
        found: dict[str, Person] = {}
        entries = conn.extend.standard.paged_search(
            cfg.base_dn,
            cfg.user_filter.replace("{username}", "*"),
            ldap3.SUBTREE,
            attributes=_attributes(cfg),
            paged_size=PAGE,
            generator=True,
        )
        try:
            for item in entries:
                if item.get("type") == "searchResEntry":
                    person = _person(cfg, item)
                    found[person.key] = person
        except LDAPException as exc:
            raise DirectoryError(f"search failed: {type(exc).__name__}: {exc}") from exc
        code = (conn.result or {}).get("result")
        if code != 0:  # a wrong base DN, no right to read, busy: never "everyone left"
            raise DirectoryError(f"search refused: {(conn.result or {}).get('description')}")
        return found
    finally:
        _close(conn)


def _state(user: User) -> dict[str, object]:
    return {
        "role": user.role,
        "department": user.department_id,
        "name": user.display_name,
        "e-mail": user.email,
        "active": user.active,
    }


# More than this share of the active directory accounts gone at once is taken for a directory
# (or a setting) in trouble, not for people leaving: nothing is changed without --force.
MAX_GONE_SHARE = 0.1


def sync(session: Session, now: datetime, cfg: DirectorySettings, force: bool = False) -> SyncReport:
    """One pass over the directory accounts; the caller commits. DirectoryError, changing
    nothing, when the directory lists nobody, or (without `force`) when more than
    MAX_GONE_SHARE of the active accounts would be taken out at once."""
    people = everyone(cfg)
    report = SyncReport(found=len(people))
    accounts = session.scalars(select(User).where(User.auth_source == "ldap").order_by(User.id)).all()
    active = [u for u in accounts if u.active]
    gone = [u for u in active if (u.directory_key or "") not in people]
    if active and not people:
        raise DirectoryError("the directory listed nobody: check ldap_base_dn and ldap_user_filter")
    if not force and len(gone) > max(3, MAX_GONE_SHARE * len(active)):
        raise DirectoryError(
            f"{len(gone)} of {len(active)} active directory accounts are not in the directory; "
            "nothing was changed (check the settings, or run again with --force)"
        )
    for user in accounts:
        before = _state(user)
        person = people.get(user.directory_key or "")
        if person is None:
            if user.active:
                deactivate(session, now, user)
                report.deactivated.append(user.username)
            else:
                report.unchanged += 1
            continue
        try:
            with session.begin_nested():
                kept = apply_person(session, now, cfg, user.username, person)
        except ValidationError as exc:
            report.failed[user.username] = str(exc.message % exc.params if exc.params else exc.message)
            continue
        if kept is None:
            if before["active"]:
                report.deactivated.append(user.username)
            else:
                report.unchanged += 1
            continue
        after = _state(kept)
        what = [f"{k} {before[k]!s} -> {after[k]!s}" for k in before if before[k] != after[k]]
        if what:
            report.changed[user.username] = what
        else:
            report.unchanged += 1
    return report
