"""Build hook: put everything the app reads at run time into the wheel.

The design card keeps templates/, migrations/ and config/ at the top of the checkout; in the wheel
they live inside the package (swat/templates, swat/migrations, swat/config), where
swat/resources.py looks for them. The .po catalogs are the source and the .mo files are build
output (gitignored), so the hook compiles them into a temporary folder and ships them at
swat/translations/<locale>/LC_MESSAGES/messages.mo: a wheel built from a clean checkout speaks
Japanese.

Editable installs get none of this: they import the checkout, where everything already is (and
`make translations` compiles the catalogs in place). Hatchling's declarative force-include would
also copy these folders into site-packages on an editable install, beside the checkout's live
ones, which is why the mapping lives here.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# Checkout path -> path inside the wheel. testing.toml stays behind: it is the suite's.
RESOURCES = {
    "templates": "swat/templates",
    "migrations": "swat/migrations",
    "config/default.toml": "swat/config/default.toml",
    "config/production.example.toml": "swat/config/production.example.toml",
    "config/reference": "swat/config/reference",
}
CATALOGS = "swat/translations"


class WheelResources(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        for source, target in RESOURCES.items():
            if not (root / source).exists():
                raise FileNotFoundError(f"{source} is missing; the wheel would not start without it")
            build_data["force_include"][str(root / source)] = target
        self._compiled = Path(tempfile.mkdtemp(prefix="swat-mo-"))
        catalogs = sorted((root / CATALOGS).glob("*/LC_MESSAGES/*.po"))
        if not catalogs:
            raise FileNotFoundError(f"no message catalogs under {CATALOGS}")
        for po in catalogs:
            target = po.relative_to(root).with_suffix(".mo")
            with po.open("rb") as fh:
                catalog = read_po(fh)
            compiled = self._compiled / target
            compiled.parent.mkdir(parents=True, exist_ok=True)
            with compiled.open("wb") as fh:
                write_mo(fh, catalog)
            build_data["force_include"][str(compiled)] = target.as_posix()

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        compiled = getattr(self, "_compiled", None)
        if compiled is not None:
            shutil.rmtree(compiled, ignore_errors=True)
