"""The application factory."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event

from . import resources, transaction
from . import settings as settings_mod
from .domain.clock import SystemClock
from .domain.tz import TOKYO
from .extensions import babel, csrf, db, login_manager, migrate
from .services import notify


def _chat_configured() -> bool:
    return has_app_context() and bool(current_app.config["SWAT"].get("webhook_url"))


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from settings (see swat/settings.py for their order)."""
    s = settings_mod.load_settings(overrides)
    app = Flask(
        __name__,
        instance_path=s["instance_path"],
        instance_relative_config=False,
        template_folder=str(resources.TEMPLATES),
        static_folder=str(resources.STATIC),
    )
    app.config["SWAT"] = s
    notify.use_chat_check(_chat_configured)
    app.config.update(
        SECRET_KEY=s["secret_key"],
        DEBUG=bool(s["debug"]) and s["env"] != "production",
        TESTING=s["env"] == "testing",
        SQLALCHEMY_DATABASE_URI=s["database_url"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(s["database_url"]),
        MAX_CONTENT_LENGTH=s["max_request_bytes"],
        # Forms with several 10 MB files are parsed to temporary files, not memory.
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        MAX_FORM_PARTS=1000,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(s["secure_cookies"]),
        SESSION_COOKIE_NAME="__Host-swat_session" if s["secure_cookies"] else "swat_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=s["session_absolute_hours"]),
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=bool(s["secure_cookies"]),
        BABEL_DEFAULT_LOCALE=s["default_locale"],
        BABEL_DEFAULT_TIMEZONE=TOKYO.key,
        BABEL_TRANSLATION_DIRECTORIES=str(resources.TRANSLATIONS),
    )
    settings_mod.make_instance(app.instance_path)
    app.extensions["swat.clock"] = SystemClock()  # the one time source; tests put a FixedClock here

    db.init_app(app)
    migrate.init_app(app, db, directory=str(resources.MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    from .web import i18n

    babel.init_app(app, locale_selector=i18n.select_locale)

    with app.app_context():
        _configure_engine(db.engine)

    if s["proxy_count"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to wrap the WSGI app; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=s["proxy_count"], x_proto=s["proxy_count"])  # type: ignore[method-assign]

    from . import logs
    from .web import register_web

    register_web(app)
    logs.init_app(app)  # last: its hook goes first, so even a request a hook refused has its id

    from .cli import register_cli

    register_cli(app)
    return app


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _configure_engine(engine) -> None:
    """SQLite: durable commits, real write transactions, reads beside a writer.

    pysqlite's own transaction handling is unreliable, so it is switched off
    and the desk begins each transaction itself (`transaction.begin_statement`):
    BEGIN IMMEDIATE, so that writers queue on the database lock (busy_timeout)
    instead of failing on upgrade, except in a page that only reads, whose
    transactions begin deferred and never take the lock. WAL lets readers go
    on beside the writer; synchronous=FULL keeps committed data after a power
    loss.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(transaction.begin_statement())
