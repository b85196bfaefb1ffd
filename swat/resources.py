"""Where the app's own files live: in a checkout, and in an installed wheel.

The checkout keeps the design card's top level (templates/, migrations/, config/ beside swat/);
the wheel carries the same folders inside the package (hatch_build.py maps them), so below ROOT
the layout is the same either way. Every other module takes these paths from here.

The instance folder (SQLite file, uploads, development secret) is the operator's, never the
package's: see default_instance_path().
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The build puts config/default.toml inside the package; a checkout has it one level up.
INSTALLED = (PACKAGE / "config" / "default.toml").is_file()
ROOT = PACKAGE if INSTALLED else PACKAGE.parent

TEMPLATES = ROOT / "templates"
MIGRATIONS = ROOT / "migrations"
CONFIG_DIR = ROOT / "config"
DEFAULT_CONFIG = CONFIG_DIR / "default.toml"
REFERENCE_DIR = CONFIG_DIR / "reference"
STATIC = PACKAGE / "static"
TRANSLATIONS = PACKAGE / "translations"

APP_DIR_NAME = "swat-desk"


def default_instance_path(environ: Mapping[str, str] | None = None) -> Path:
    """The instance folder when the `instance_path` setting is empty.

    A checkout keeps its own `instance/` beside the code (what `make run` uses). An installed
    package never writes into site-packages: a systemd service with `StateDirectory=swat-desk`
    gets `$STATE_DIRECTORY` (/var/lib/swat-desk), anyone else the per-user data folder,
    `$XDG_DATA_HOME/swat-desk` (by default ~/.local/share/swat-desk).
    """
    environ = os.environ if environ is None else environ
    if not INSTALLED:
        return ROOT / "instance"
    state = environ.get("STATE_DIRECTORY", "").split(":")[0]
    if state:
        return Path(state)
    data_home = environ.get("XDG_DATA_HOME", "")
    base = Path(data_home) if data_home and Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / APP_DIR_NAME
