"""Which files the desk takes: by the name's extension, by what the first bytes say the file
is, and (optionally) by a virus scanner run on each file before anything is committed.

The default takes office documents, PDF, images, text, CSV and ZIP archives. A program (a
Windows .exe, a Linux or macOS binary) and HTML or SVG (a page that runs scripts when opened)
are refused whatever the name says, and so is a file whose content is of another kind than
its name (a PDF name on a program, an image name on an archive). With `upload_scan_command`
set (for example `clamdscan --no-summary --fdpass`), each stored file's path is added to the
command: exit 0 takes it, 1 refuses it as infected, anything else (the scanner is down, a
timeout) refuses it too, since an unchecked file must not pass as a checked one.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import filetype  # type: ignore[import-untyped]

from ..domain.errors import ValidationError

log = logging.getLogger(__name__)

DEFAULT_EXTENSIONS = (
    "pdf doc docx xls xlsx ppt pptx odt ods odp rtf txt csv tsv md png jpg jpeg gif webp bmp tif tiff heic zip eml msg"
)
# The families a name's extension belongs to, told apart by the first bytes.
_FAMILY = {
    **dict.fromkeys(("png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "heic"), "image"),
    "pdf": "pdf",
    **dict.fromkeys(("docx", "xlsx", "pptx", "odt", "ods", "odp", "zip"), "zip"),
    **dict.fromkeys(("doc", "xls", "ppt", "msg"), "ole"),
    **dict.fromkeys(("txt", "csv", "tsv", "md", "eml", "rtf"), "text"),
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_PROGRAMS = {"exe", "elf", "dmg", "deb", "rpm", "dcm", "swf", "crx", "msi"}
_MACHO = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<iframe", b"<?xml")
HEAD = 8192
SCAN_TIMEOUT = 120


@dataclass(frozen=True)
class UploadPolicy:
    extensions: frozenset[str]
    scan_command: str = ""

    @classmethod
    def from_settings(cls, settings: dict) -> UploadPolicy:
        words = str(settings.get("upload_extensions") or DEFAULT_EXTENSIONS).replace(",", " ").split()
        return cls(
            frozenset(w.strip().lstrip(".").lower() for w in words if w.strip()),
            settings.get("upload_scan_command", ""),
        )


DEFAULT = UploadPolicy(frozenset(DEFAULT_EXTENSIONS.split()))


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""


def check_name(policy: UploadPolicy, name: str) -> None:
    """Refuse a file by its name's extension before a byte of it is stored."""
    ext = extension(name)
    if ext not in policy.extensions:
        raise ValidationError(
            "“%(name)s” is not a kind of file the desk takes. It takes: %(kinds)s.",
            field="attachments",
            name=name,
            kinds=", ".join(sorted(policy.extensions)),
        )


def _kind(head: bytes) -> str:
    """What the first bytes say: "program", "markup", a family of _FAMILY, or "" (unknown)."""
    if head.startswith((b"MZ", b"\x7fELF")) or head.startswith(_MACHO):
        return "program"
    if head.startswith(_OLE2):
        return "ole"
    guessed = filetype.guess(head)
    if guessed is not None:
        if guessed.extension in _PROGRAMS:
            return "program"
        if guessed.mime.startswith("image/"):
            return "image"
        if guessed.extension == "pdf":
            return "pdf"
        if guessed.extension in ("zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"):
            return "zip"
        return guessed.extension
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(_MARKUP) or b"<script" in text[:1024]:
        return "markup"
    if b"\x00" in head:
        return ""
    return "text"


def check_content(policy: UploadPolicy, name: str, path: Path) -> None:
    """Refuse a stored file whose first bytes are a program, a page, or not what its name says."""
    with open(path, "rb") as f:
        head = f.read(HEAD)
    kind = _kind(head)
    if kind == "program":
        raise ValidationError(
            "“%(name)s” is a program; the desk does not take programs.", field="attachments", name=name
        )
    if kind == "markup":
        raise ValidationError(
            "“%(name)s” is a web page (HTML or SVG), which the desk does not take. Send it as PDF or an image.",
            field="attachments",
            name=name,
        )
    expected = _FAMILY.get(extension(name))
    if expected is not None and head and kind != expected and not (expected == "text" and kind == ""):
        raise ValidationError(
            "“%(name)s” is not what its name says (its content is of another kind). Check the file and attach it again.",
            field="attachments",
            name=name,
        )


def scan(policy: UploadPolicy, name: str, path: Path) -> None:
    """Run the configured scanner on a stored file; refuse it unless the scanner says clean."""
    if not policy.scan_command:
        return
    argv = [*shlex.split(policy.scan_command), str(path)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=SCAN_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("the virus scan of an upload could not run: %s", exc)
        done = None
    if done is not None and done.returncode == 0:
        return
    if done is not None and done.returncode == 1:
        log.warning("the virus scan refused an upload (%s): %s", name, (done.stdout or done.stderr).strip()[:300])
        raise ValidationError(
            "“%(name)s” was refused by the virus scan. Nothing was saved.", field="attachments", name=name
        )
    if done is not None:
        log.error("the virus scan failed (exit %s): %s", done.returncode, (done.stderr or done.stdout).strip()[:300])
    raise ValidationError(
        "“%(name)s” could not be checked for viruses just now, so nothing was saved. Try again in a few minutes.",
        field="attachments",
        name=name,
    )
