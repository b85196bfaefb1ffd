"""Which files the desk takes, tried as a new user would: office documents, PDF, images, text
and ZIP go in; a program or a web page does not, whatever its name, nor a file whose content
is not what its name says; a configured virus scan can refuse one. Each refusal keeps the
form and says why in Japanese, and nothing is saved."""

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from swat.extensions import db
from swat.models import Attachment, Ticket

from .test_flows import file_form

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _file(auth, name, data):
    b = auth.login("staff_health")
    return b.post(
        "/consultations/new",
        file_form(attachments=[(io.BytesIO(data), name)]),
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "name, data",
    [
        ("案内.pdf", PDF),
        ("写真.png", PNG),
        ("申請書.docx", _docx()),
        ("一覧.csv", "氏名,所属\n山田,健康医療部\n".encode("cp932")),
        ("メモ.txt", "メモです".encode()),
        ("資料一式.zip", _docx()),
    ],
)
def test_the_kinds_people_send_are_taken(auth, name, data):
    r = _file(auth, name, data)
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert db.session.scalars(select(Attachment.filename)).all() == [name]


@pytest.mark.parametrize(
    "name, data, said",
    [
        ("setup.exe", EXE, "受け付けない種類のファイル"),
        ("手順.html", HTML, "受け付けない種類のファイル"),
        ("請求書.pdf", EXE, "プログラム"),
        ("tool.txt", ELF, "プログラム"),
        ("お知らせ.txt", HTML, "ウェブページ"),
        ("図.png", SVG, "ウェブページ"),
        ("写真.png", PDF, "ファイル名と内容の種類が違います"),
    ],
)
def test_programs_pages_and_disguised_files_are_refused_with_the_reason(auth, name, data, said):
    r = _file(auth, name, data)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and said in page and name in page, page[:500]
    assert 'value="LINEで子育て相談を受けたい"' in page  # the form keeps what was typed
    assert db.session.scalars(select(Ticket)).all() == [] and db.session.scalars(select(Attachment)).all() == []


def _scanner(tmp_path, code: int) -> str:
    script = tmp_path / "scan.sh"
    script.write_text(f'#!/bin/sh\necho "$1: Eicar-Test-Signature FOUND"\nexit {code}\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    "code, said",
    [(1, "ウイルス検査で受け付けられませんでした"), (2, "ウイルス検査ができなかった")],
)
def test_a_scan_that_refuses_or_fails_keeps_the_file_out(app, auth, tmp_path, monkeypatch, code, said):
    monkeypatch.setitem(app.config["SWAT"], "upload_scan_command", _scanner(tmp_path, code))
    stored = Path(app.config["SWAT"]["attachment_dir"])
    before = {p for p in stored.rglob("*") if p.is_file()}
    r = _file(auth, "案内.pdf", PDF)
    assert r.status_code == 400 and said in r.get_data(as_text=True)
    assert db.session.scalars(select(Attachment)).all() == []
    assert {p for p in stored.rglob("*") if p.is_file()} == before  # the scanned copy is gone too


def test_a_clean_scan_takes_the_file(app, auth, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config["SWAT"], "upload_scan_command", _scanner(tmp_path, 0))
    assert _file(auth, "案内.pdf", PDF).status_code == 302
    assert db.session.scalars(select(Attachment.filename)).all() == ["案内.pdf"]


def test_the_extensions_are_a_setting(app, auth, monkeypatch):
    monkeypatch.setitem(app.config["SWAT"], "upload_extensions", "pdf")
    r = _file(auth, "写真.png", PNG)
    assert r.status_code == 400 and "pdf" in r.get_data(as_text=True)
