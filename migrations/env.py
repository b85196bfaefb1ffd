import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    """Write the project's UTCDateTime as the plain timestamptz it stores, so
    migrations never import application code."""
    from swat.models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _next_revision_id(context):
    """The next number after the newest migration's, four digits: 0012 follows 0011."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(context.config).get_revisions("heads")
    numbers = [int(h.revision) for h in heads if h.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        script = directives[0]
        if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")
            return
        if not script.rev_id.isdigit():  # alembic's random id, not one given with --rev-id
            script.rev_id = _next_revision_id(context)

    conf_args = current_app.extensions["migrate"].configure_args
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("compare_type", True)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        from swat.models.base import include_object_for

        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, False)
        try:
            conf_args.setdefault("include_object", include_object_for(connection.dialect.name))
            context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:10]}")
        finally:
            if sqlite:
                connection.rollback()
                _sqlite_foreign_keys(connection, True)


def _sqlite_foreign_keys(connection, on):
    """Switch SQLite's foreign key enforcement for this connection.

    A batch migration rebuilds a table on SQLite (create a copy, move the rows, drop the
    original, rename the copy). With foreign keys enforced, dropping the original deletes
    every row that refers to it through ON DELETE CASCADE: rebuilding `tickets` would empty
    messages, events and clocks. SQLite ignores this pragma inside a transaction, so it is set
    on the DBAPI connection before the migrations' transactions begin; afterwards
    PRAGMA foreign_key_check proves nothing was left dangling, and enforcement comes back on
    for the pooled connection.
    """
    connection.connection.dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
