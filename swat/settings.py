"""Settings: defaults -> $SWAT_CONFIG file -> SWAT_* environment -> overrides.

Unknown keys fail loudly at start, and so does a production configuration
without a secret key, so a typo can never silently fall back to a default.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import resources
from .domain.audit import retention_problem
from .domain.permissions import ROLES

ENV_PREFIX = "SWAT_"
# Environment variables with the prefix that are not settings.
NOT_SETTINGS = {"SWAT_CONFIG", "SWAT_TEST_DATABASE_URL"}
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


def _merge(into: dict[str, Any], values: Mapping[str, Any], origin: str) -> None:
    for key, value in values.items():
        k = key.lower()
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
    config_file = environ.get("SWAT_CONFIG")
    if config_file:
        path = Path(config_file)
        if not path.is_absolute() and not path.exists():
            path = resources.ROOT / path
        try:
            with path.open("rb") as fh:
                _merge(settings, tomllib.load(fh), str(config_file))
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
            raise SettingsError(f"unknown environment setting {name}")
        settings[key] = _coerce(key, settings[key], raw)
    if overrides:
        _merge(settings, overrides, "overrides")
    _finish(settings, environ)
    return settings


def _finish(settings: dict[str, Any], environ: Mapping[str, str]) -> None:
    if settings["env"] not in ("development", "testing", "production"):
        raise SettingsError(f"env must be development, testing or production, not {settings['env']!r}")
    if (problem := retention_problem(settings["audit_retention_days"])) is not None:
        raise SettingsError(f"{problem}; refusing to start")
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
    elif not settings["secret_key"]:
        settings["secret_key"] = _development_secret(instance)


def _development_secret(instance: Path) -> str:
    """A random key kept under the instance folder so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
