"""Settings: defaults -> $SWAT_CONFIG file -> SWAT_* environment -> overrides.

Unknown keys fail loudly at start, and so does a production configuration
without a secret key, so a typo can never silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from . import resources
from .domain.audit import retention_problem
from .domain.permissions import ROLES

ENV_PREFIX = "SWAT_"
# Environment variables with the prefix that are not settings.
NOT_SETTINGS = {"SWAT_CONFIG", "SWAT_TEST_DATABASE_URL"}
# What container platforms inject for a service or link whose name begins with "swat"
# (Kubernetes: SWAT_SERVICE_HOST, SWAT_SERVICE_PORT[_NAME], SWAT_PORT=tcp://…,
# SWAT_PORT_8000_TCP[_PROTO|_PORT|_ADDR]; Docker links: SWAT_NAME, SWAT_ENV_*; and the same
# for SWAT_DB_… and so on). Tolerated by name and by the shape of their value, so that a
# mistyped setting (SWAT_SMPT_PORT=25) still stops the desk.
SERVICE_LINKS = (
    (re.compile(r"SWAT(_[A-Z0-9]+)*_SERVICE_HOST"), re.compile(r"[0-9A-Za-z.:\-\[\]]+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_SERVICE_PORT(_[A-Z0-9_]+)?"), re.compile(r"\d+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_PORT(_\d+_(TCP|UDP|SCTP))?"), re.compile(r"(tcp|udp|sctp)://\S+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_PORT_\d+_(TCP|UDP|SCTP)_PROTO"), re.compile(r"tcp|udp|sctp")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_PORT_\d+_(TCP|UDP|SCTP)_PORT"), re.compile(r"\d+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_PORT_\d+_(TCP|UDP|SCTP)_ADDR"), re.compile(r"[0-9A-Fa-f.:]+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_NAME"), re.compile(r"/\S+")),
    (re.compile(r"SWAT(_[A-Z0-9]+)*_ENV_[A-Z0-9_]+"), re.compile(r".*", re.S)),
)
# Settings that existed once, and why they are gone: an old file or environment that sets
# one gets this reason instead of a bare "unknown setting".
REMOVED = {
    "timezone": "times are always shown in Asia/Tokyo (the desk's calendar and reports are Tokyo's); remove it",
}


class SettingsError(RuntimeError):
    pass


def _coerce(key: str, default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{ENV_PREFIX}{key.upper()}: expected true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{key.upper()}: expected a whole number, got {raw!r}")
    return raw


def service_link(name: str, value: str) -> bool:
    """Whether an environment variable is one a container platform injected (see SERVICE_LINKS)."""
    return any(n.fullmatch(name) and v.fullmatch(value) for n, v in SERVICE_LINKS)


def _merge(into: dict[str, Any], values: Mapping[str, Any], origin: str, given: set[str]) -> None:
    for key, value in values.items():
        k = key.lower()
        given.add(k)
        if k in REMOVED:
            raise SettingsError(f"{origin}: setting {key!r} was removed: {REMOVED[k]}")
        if k not in into:
            raise SettingsError(f"{origin}: unknown setting {key!r}")
        default = into[k]
        if (
            default is not None
            and not isinstance(value, type(default))
            and not (isinstance(default, int) and isinstance(value, int))
        ):
            raise SettingsError(f"{origin}: setting {key!r} should be {type(default).__name__}, got {value!r}")
        into[k] = value


def load_settings(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the effective settings as a dict of lowercase keys."""
    environ = os.environ if environ is None else environ
    with resources.DEFAULT_CONFIG.open("rb") as fh:
        settings: dict[str, Any] = tomllib.load(fh)
    given: set[str] = set()  # the keys a file, the environment or the caller set
    config_file = environ.get("SWAT_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_absolute() and not path.exists():
            path = resources.ROOT / path
        try:
            with path.open("rb") as fh:
                _merge(settings, tomllib.load(fh), str(config_file), given)
        except FileNotFoundError:
            raise SettingsError(f"SWAT_CONFIG names a file that does not exist: {config_file}")
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config_file}: {exc}")
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key in REMOVED:
            raise SettingsError(f"environment setting {name} was removed: {REMOVED[key]}")
        if key not in settings:
            if service_link(name, raw):
                continue
            raise SettingsError(f"unknown environment setting {name}")
        settings[key] = _coerce(key, settings[key], raw)
        given.add(key)
    if overrides:
        _merge(settings, overrides, "overrides", given)
    _finish(settings, environ, given)
    return settings


def _finish(settings: dict[str, Any], environ: Mapping[str, str], given: Collection[str] = ()) -> None:
    if settings["env"] not in ("development", "testing", "production"):
        raise SettingsError(f"env must be development, testing or production, not {settings['env']!r}")
    if (problem := retention_problem(settings["audit_retention_days"])) is not None:
        raise SettingsError(f"{problem}; refusing to start")
    if settings["log_format"] not in ("text", "json"):
        raise SettingsError(f"log_format must be text or json, not {settings['log_format']!r}")
    settings["log_level"] = str(settings["log_level"]).upper()
    if settings["log_level"] not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"log_level must be DEBUG, INFO, WARNING or ERROR, not {settings['log_level']!r}")
    settings["metrics_allow"] = _networks(settings["metrics_allow"])
    if settings["metrics_token"] and len(settings["metrics_token"]) < 32:
        raise SettingsError("metrics_token must be at least 32 characters (or empty: no token is accepted)")
    if settings["imap_security"] not in ("tls", "starttls"):
        raise SettingsError(f"imap_security must be tls or starttls, not {settings['imap_security']!r}")
    if settings["smtp_tls"] and settings["smtp_starttls"]:
        raise SettingsError("set smtp_tls (TLS from the start) or smtp_starttls, not both")
    from .jobs.smtp import plain_password_problem

    if (problem := plain_password_problem(settings)) is not None:
        raise SettingsError(f"{problem}; refusing to start")
    if settings["ldap_local_signin"] not in ("admins", "all"):
        raise SettingsError(f"ldap_local_signin must be admins or all, not {settings['ldap_local_signin']!r}")
    bad_roles = sorted(set(settings["ldap_role_groups"].values()) - set(ROLES))
    if bad_roles:
        raise SettingsError(f"ldap_role_groups: unknown role {', '.join(map(repr, bad_roles))}")
    # Empty paths mean the defaults in swat/resources.py; relative ones are the operator's,
    # taken from the current directory.
    instance = (
        Path(settings["instance_path"]).absolute()
        if settings["instance_path"]
        else resources.default_instance_path(environ)
    )
    settings["instance_path"] = str(instance)
    if not settings["attachment_dir"]:
        settings["attachment_dir"] = str(instance / "attachments")
    ref = Path(settings["reference_dir"]).absolute() if settings["reference_dir"] else resources.REFERENCE_DIR
    settings["reference_dir"] = str(ref)
    if not settings["database_url"]:
        settings["database_url"] = f"sqlite:///{instance / 'swat.db'}"
    if settings["env"] == "production":
        if not settings["secret_key"] or len(settings["secret_key"]) < 32:
            raise SettingsError("production needs SWAT_SECRET_KEY (at least 32 characters); refusing to start")
        if settings["debug"]:
            raise SettingsError("debug must be off in production; refusing to start")
        if "secure_cookies" not in given:
            settings["secure_cookies"] = True  # and with them HSTS (web.headers)
        if "base_url" not in given:
            raise SettingsError(
                "production needs base_url (SWAT_BASE_URL), the https:// address people open the desk at, "
                "for the links in e-mails; refusing to start"
            )
        if (problem := _base_url_problem(settings["base_url"])) is not None:
            raise SettingsError(f"base_url {settings['base_url']!r}: {problem}; refusing to start")
    elif not settings["secret_key"]:
        settings["secret_key"] = _development_secret(instance)


def _networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """metrics_allow as networks: "127.0.0.1/8, ::1, 10.0.0.5" (an address is a network of one)."""
    try:
        return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in str(value).split(",") if item.strip())
    except ValueError as exc:
        raise SettingsError(f"metrics_allow: {exc}") from None


def make_instance(instance: str | Path) -> None:
    """Make the instance folder, or say in a sentence why it cannot be made."""
    try:
        Path(instance).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"instance_path {str(instance)!r} cannot be made ({exc.strerror}): create it for the desk's "
            "user, or set instance_path (SWAT_INSTANCE_PATH) to a folder it may write"
        ) from None


def _development_secret(instance: Path) -> str:
    """A random key kept under the instance folder so sessions survive restarts."""
    make_instance(instance)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _base_url_problem(url: str) -> str | None:
    """Why a production base_url is wrong: not https:// (plain http:// only on loopback)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname:
        try:
            if parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback:
                return None
        except ValueError:
            pass
        return "production links must use https:// (http:// only to this host)"
    return "expected an address such as https://swat.pref.osaka.lg.jp"
