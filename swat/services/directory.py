"""Signing in against an LDAP directory (Active Directory's conventions first), with ldap3.

The directory is the source of truth for its accounts: each sign-in creates or updates the
desk's account (role and department from group membership, name and address from
attributes), and a person gone from the directory, or from every mapped group, is refused
and their account deactivated, which ends their sessions. The server's certificate is always
checked; a bind is never tried with an empty password (a directory takes that as an
anonymous bind and says yes).
"""

from __future__ import annotations

import logging
import secrets
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.errors import ValidationError
from ..domain.permissions import ADMIN, MANAGER, ROLES
from ..models import Department, User

log = logging.getLogger("swat.directory")

TIMEOUT_SECONDS = 10


class DirectoryError(Exception):
    """The directory could not be asked (down, refused the service account, bad certificate)."""


@dataclass(frozen=True)
class DirectorySettings:
    url: str
    starttls: bool = False
    ca_file: str = ""
    bind_dn: str = ""
    bind_password: str = ""
    bind_password_file: str = ""
    user_dn_template: str = ""
    base_dn: str = ""
    user_filter: str = "(&(objectClass=user)(sAMAccountName={username}))"
    attr_display_name: str = "displayName"
    attr_email: str = "mail"
    attr_department: str = "department"
    attr_key: str = "objectGUID"
    attr_groups: str = "memberOf"
    role_groups: Mapping[str, str] = field(default_factory=dict)
    department_map: Mapping[str, str] = field(default_factory=dict)
    local_signin: str = "admins"
    hash_method: str = "scrypt"


def settings_from(s: Mapping[str, Any]) -> DirectorySettings | None:
    """The directory settings from the desk's settings, or None when no `ldap_url` is set.
    The service account's password comes from `ldap_bind_password_file` when that is set
    (read at each use, so it can be rotated)."""
    if not s.get("ldap_url"):
        return None
    return DirectorySettings(
        url=s["ldap_url"],
        starttls=s["ldap_starttls"],
        ca_file=s["ldap_ca_file"],
        bind_dn=s["ldap_bind_dn"],
        bind_password=s["ldap_bind_password"],
        bind_password_file=s["ldap_bind_password_file"],
        user_dn_template=s["ldap_user_dn_template"],
        base_dn=s["ldap_base_dn"],
        user_filter=s["ldap_user_filter"],
        attr_display_name=s["ldap_attr_display_name"],
        attr_email=s["ldap_attr_email"],
        attr_department=s["ldap_attr_department"],
        attr_key=s["ldap_attr_key"],
        attr_groups=s["ldap_attr_groups"],
        role_groups=_lower_keys(s["ldap_role_groups"]),
        department_map=_lower_keys(s["ldap_department_map"]),
        local_signin=s["ldap_local_signin"],
        hash_method=s["password_hash_method"],
    )


def _lower_keys(mapping: Mapping[str, str]) -> dict[str, str]:
    return {_norm_dn(k): v for k, v in mapping.items()}


def _norm_dn(dn: str) -> str:
    """A DN compared as the directory does: case and spaces after commas ignored."""
    return ",".join(part.strip() for part in dn.split(",")).lower()


# --- talking to the directory ---------------------------------------------------------


class _CheckedTls(ldap3.Tls):
    """TLS as the standard library's default context does it: TLS 1.2 or later, the chain
    checked against the CA file (or the system's), the host name (or IP) checked too. ldap3
    2.9 checks the name with ssl.match_hostname, deprecated and gone from Python 3.12."""

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        context = ssl.create_default_context(cafile=self.ca_certs_file)
        connection.socket = context.wrap_socket(
            connection.socket, server_hostname=connection.server.host, do_handshake_on_connect=do_handshake
        )


def _close(conn: ldap3.Connection) -> None:
    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass  # the connection broke already: nothing to say goodbye to
    finally:
        if conn.socket is not None:  # left open by ldap3 when TLS failed
            conn.socket.close()


def _server(cfg: DirectorySettings) -> ldap3.Server:
    url = urlsplit(cfg.url)
    if url.scheme not in ("ldap", "ldaps") or not url.hostname:
        raise DirectoryError(f"ldap_url must be ldaps://host:636 or ldap://host:389, not {cfg.url!r}")
    tls = _CheckedTls(validate=ssl.CERT_REQUIRED, ca_certs_file=cfg.ca_file or None)
    use_ssl = url.scheme == "ldaps"
    return ldap3.Server(
        url.hostname,
        port=url.port or (636 if use_ssl else 389),
        use_ssl=use_ssl,
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=TIMEOUT_SECONDS,
        allowed_referral_hosts=[],  # never follow a referral with the user's password
    )


def _bind(cfg: DirectorySettings, dn: str, password: str) -> ldap3.Connection | None:
    """A connection bound as `dn`, or None when the directory says the credentials are wrong.
    Over ldap:// the connection is upgraded with StartTLS first; a plain ldap:// without it
    is refused, so no password ever travels in the clear."""
    if not dn or not password:  # an empty password is an anonymous bind that "succeeds"
        return None
    server = _server(cfg)
    if not server.ssl and not cfg.starttls:
        raise DirectoryError("ldap:// needs ldap_starttls = true (or use ldaps://)")
    conn = ldap3.Connection(
        server,
        user=dn,
        password=password,
        auto_bind=ldap3.AUTO_BIND_NONE,
        receive_timeout=TIMEOUT_SECONDS,
        auto_referrals=False,
    )
    try:
        conn.open()
        if not server.ssl and not conn.start_tls():
            raise DirectoryError(f"StartTLS refused: {conn.result}")
        if conn.bind():
            return conn
    except (LDAPException, OSError) as exc:
        _close(conn)
        raise DirectoryError(f"{type(exc).__name__}: {exc}") from exc
    result = conn.result or {}
    _close(conn)
    if result.get("result") == 49:  # invalidCredentials
        return None
    raise DirectoryError(f"bind refused: {result.get('description')} {result.get('message')}")


@dataclass(frozen=True)
class Person:
    """What the directory says about one person."""

    dn: str
    key: str
    display_name: str
    email: str
    department_value: str
    groups: tuple[str, ...]


def _attributes(cfg: DirectorySettings) -> list[str]:
    return [cfg.attr_display_name, cfg.attr_email, cfg.attr_department, cfg.attr_key, cfg.attr_groups]


def _first(raw: Mapping[str, list[bytes]], name: str) -> bytes:
    for k, values in raw.items():
        if k.lower() == name.lower() and values:
            return values[0]
    return b""


def _text(raw: Mapping[str, list[bytes]], name: str) -> str:
    return _first(raw, name).decode("utf-8", errors="replace").strip()


def _person(cfg: DirectorySettings, item: Mapping[str, Any]) -> Person:
    raw = item["raw_attributes"]
    key_bytes = _first(raw, cfg.attr_key)
    if len(key_bytes) == 16 and cfg.attr_key.lower() == "objectguid":
        key = str(uuid.UUID(bytes_le=key_bytes))  # AD's GUID, as AD's tools write it
    else:
        key = key_bytes.decode("utf-8", errors="replace") or "dn:" + _norm_dn(item["dn"])
    groups = tuple(
        v.decode("utf-8", errors="replace")
        for k, values in raw.items()
        if k.lower() == cfg.attr_groups.lower()
        for v in values
    )
    return Person(
        dn=item["dn"],
        key=key[:255],
        display_name=_text(raw, cfg.attr_display_name),
        email=_text(raw, cfg.attr_email),
        department_value=_text(raw, cfg.attr_department),
        groups=groups,
    )


def user_filter(cfg: DirectorySettings, username: str) -> str:
    """The search filter for one user name, escaped so a name cannot change the filter."""
    return cfg.user_filter.replace("{username}", escape_filter_chars(username))


def _search(conn: ldap3.Connection, cfg: DirectorySettings, username: str) -> list[Person]:
    """The entries for this user name (at most 2: more than one is refused by the caller).
    DirectoryError when the directory did not answer the search fully (a wrong base DN, no
    right to read, busy): that is never "the user is gone"."""
    try:
        conn.search(cfg.base_dn, user_filter(cfg, username), ldap3.SUBTREE, attributes=_attributes(cfg), size_limit=2)
    except LDAPException as exc:
        raise DirectoryError(f"search failed: {type(exc).__name__}: {exc}") from exc
    found = [_person(cfg, item) for item in conn.response or [] if item.get("type") == "searchResEntry"]
    code = (conn.result or {}).get("result")
    if code not in (0, 4) or (code == 4 and len(found) < 2):  # 4: sizeLimitExceeded, two found
        raise DirectoryError(f"search refused: {(conn.result or {}).get('description')}")
    return found


def service_connection(cfg: DirectorySettings) -> ldap3.Connection:
    """A connection bound as the service account (DirectoryError if it cannot bind). Its
    password file is read here, at each use (so it can be rotated)."""
    password = cfg.bind_password
    if cfg.bind_password_file:
        try:
            password = Path(cfg.bind_password_file).read_text(encoding="utf-8").strip("\r\n")
        except OSError as exc:
            raise DirectoryError(f"ldap_bind_password_file cannot be read: {exc}") from exc
    conn = _bind(cfg, cfg.bind_dn, password)
    if conn is None:
        raise DirectoryError("the service account (ldap_bind_dn) was refused")
    return conn


def check_credentials(cfg: DirectorySettings, username: str, password: str) -> Person | None:
    """The person whose credentials these are, or None (wrong password, unknown, ambiguous).

    With a service account: search for the user, then bind as the one entry found. Without
    one: bind with `ldap_user_dn_template` (a UPN for Active Directory) and read the entry
    as the user. DirectoryError when the directory cannot be asked at all.
    """
    if not password:
        return None
    if cfg.bind_dn:
        conn = service_connection(cfg)
        try:
            found = _search(conn, cfg, username)
        finally:
            conn.unbind()
        if len(found) != 1:
            return None
        user_conn = _bind(cfg, found[0].dn, password)
        if user_conn is None:
            return None
        user_conn.unbind()
        return found[0]
    template = cfg.user_dn_template
    name = escape_rdn(username) if "=" in template else username
    user_conn = _bind(cfg, template.replace("{username}", name), password)
    if user_conn is None:
        return None
    try:
        found = _search(user_conn, cfg, username)
    finally:
        user_conn.unbind()
    return found[0] if len(found) == 1 else None


def person_exists(cfg: DirectorySettings, username: str) -> bool | None:
    """Whether the directory still has this user (None: no service account to ask with)."""
    if not cfg.bind_dn:
        return None
    conn = service_connection(cfg)
    try:
        return len(_search(conn, cfg, username)) > 0
    finally:
        conn.unbind()


# --- what the directory's answer means for the desk's account -----------------------------


def role_of(cfg: DirectorySettings, person: Person) -> str | None:
    """The highest role among the person's mapped groups (None: in no mapped group)."""
    roles = [cfg.role_groups[g] for g in map(_norm_dn, person.groups) if g in cfg.role_groups]
    return max(roles, key=ROLES.index) if roles else None


def department_of(session: Session, cfg: DirectorySettings, person: Person) -> str | None:
    """The department: the attribute's value mapped (or taken as an id as it is), else the
    first mapped group."""
    value = person.department_value
    candidates = [cfg.department_map.get(_norm_dn(value)), value] if value else []
    candidates += [cfg.department_map.get(g) for g in map(_norm_dn, person.groups)]
    for dep_id in candidates:
        if dep_id and session.get(Department, dep_id) is not None:
            return dep_id
    return None


def find_account(session: Session, person: Person, username: str) -> User | None:
    """The desk's account of this person: by the directory's stable key, else by user name."""
    user = session.scalar(select(User).where(User.directory_key == person.key))
    if user is None:
        user = session.scalar(
            select(User).where(func.lower(User.username) == username.lower(), User.auth_source == "ldap")
        )
    return user


def apply_person(session: Session, now: datetime, cfg: DirectorySettings, username: str, person: Person) -> User | None:
    """Create or update the desk's account from what the directory says; None (and the
    account deactivated, its sessions ended) when no mapped group gives a role."""
    from . import accounts  # not at the top: accounts reaches this module through signin

    user = find_account(session, person, username)
    role = role_of(cfg, person)
    if role is None:
        if user is not None:
            deactivate(session, now, user)
        return None
    department_id = department_of(session, cfg, person)
    if role == MANAGER and department_id is None:
        # A manager with no department sees the whole desk: the directory must say which
        # (an unmapped or misspelt department must not widen anyone's view).
        log.warning("directory manager %s has no mapped department: not signed in", person.dn)
        return None
    if user is not None and not user.active:
        return None  # taken out (by an admin, or the directory before): only an admin lets back in
    display_name = " ".join(person.display_name.split())[:100] or username
    try:
        email = accounts.clean_email(person.email)
    except ValidationError:
        log.warning("directory entry %s has an address that is not one: left empty", person.dn)
        email = ""
    try:
        if user is None:
            user = accounts.create_user(
                session,
                now,
                username=username,
                password=secrets.token_urlsafe(32),  # never told to anyone: the directory checks passwords
                role=role,
                display_name=display_name,
                department_id=department_id,
                email=email,
                hash_method=cfg.hash_method,
                source="directory",
                must_change_password=False,
            )
            user.auth_source = "ldap"
        else:
            user = accounts.get_user(session, user.id)
            accounts.update_user(
                session,
                now,
                user,
                role=role,
                display_name=display_name,
                department_id=department_id,
                theme_ids=[t.id for t in user.themes],
                active=user.active,
                email=email,
                source="directory",
            )
    except ValidationError as exc:
        log.warning("directory account %s not usable here: %s", person.dn, exc)
        if user is not None:
            deactivate(session, now, user)
        return None
    user.directory_key = person.key
    session.flush()
    return user


def deactivate(session: Session, now: datetime, user: User) -> None:
    """Take a directory account out: inactive, every session ended. Directly, without
    checking the role and department again (a department no longer in the reference data
    must not keep someone in)."""
    from . import accounts

    if not user.active:
        return
    accounts.deactivate_account(session, now, user, source="directory")


def local_allowed(cfg: DirectorySettings | None, user: User) -> bool:
    """Whether a local account may sign in with its password here: always without a
    directory; with one, admins always (break-glass), others when ldap_local_signin = "all"."""
    return cfg is None or cfg.local_signin == "all" or user.role == ADMIN
