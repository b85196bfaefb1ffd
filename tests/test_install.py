"""The wheel is the product: built from a clean checkout, installed into a fresh venv, it sets up
a database and serves the sign-in page in Japanese from an empty directory.

That one is slow (a build and a pip install): the normal run deselects the `slow` marker and
.ci/run runs it once. The quick tests below pin where the resources and the instance folder are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from swat import resources
from swat.settings import load_settings

CHECKOUT = Path(__file__).resolve().parent.parent


def test_a_checkout_finds_every_resource_folder_in_the_checkout():
    assert not resources.INSTALLED and resources.ROOT == CHECKOUT
    for folder in (resources.TEMPLATES, resources.MIGRATIONS, resources.REFERENCE_DIR, resources.STATIC):
        assert folder.is_dir() and folder.is_relative_to(CHECKOUT)
    assert resources.DEFAULT_CONFIG == CHECKOUT / "config" / "default.toml"
    assert (resources.TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po").is_file()
    assert resources.default_instance_path({}) == CHECKOUT / "instance"  # what `make run` uses


def test_an_installed_package_keeps_its_instance_outside_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "INSTALLED", True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    systemd = {"STATE_DIRECTORY": "/var/lib/swat-desk:/var/lib/other", "XDG_DATA_HOME": "/data"}
    assert resources.default_instance_path(systemd) == Path("/var/lib/swat-desk")
    assert resources.default_instance_path({"XDG_DATA_HOME": "/data"}) == Path("/data/swat-desk")
    # The XDG rule: a relative XDG_DATA_HOME is ignored.
    expected = tmp_path / "home" / ".local" / "share" / "swat-desk"
    assert resources.default_instance_path({"XDG_DATA_HOME": "data"}) == expected
    assert resources.default_instance_path({}) == expected


def test_settings_take_empty_paths_from_resources_and_relative_ones_from_the_current_directory(monkeypatch, tmp_path):
    key = {"SWAT_SECRET_KEY": "k" * 40}  # so that no development secret is written
    s = load_settings(environ=key)
    assert s["instance_path"] == str(CHECKOUT / "instance")
    assert s["reference_dir"] == str(resources.REFERENCE_DIR)
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={**key, "SWAT_INSTANCE_PATH": "here", "SWAT_REFERENCE_DIR": "ref"})
    assert s["instance_path"] == str(tmp_path / "here")
    assert s["database_url"] == f"sqlite:///{tmp_path / 'here' / 'swat.db'}"
    assert s["reference_dir"] == str(tmp_path / "ref")
    assert not (tmp_path / "here").exists()  # settings name the folder; the app creates it


def _clean_copy(target: Path) -> Path:
    """The files a fresh clone would have: tracked or new, nothing gitignored (no .mo, no venv)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=CHECKOUT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = CHECKOUT / name
        if source.is_file():  # a file deleted but not yet committed is still listed
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    assert not list(target.rglob("*.mo"))
    return target


def _run(argv, cwd, env, timeout=300):
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_the_wheel_installs_and_serves_japanese_from_an_empty_directory(tmp_path):
    source = _clean_copy(tmp_path / "checkout")
    dist = tmp_path / "dist"
    # The operator's shell, minus the suite's settings and anything that points into the checkout
    # (pip keeps its configuration and cache).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SWAT_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    python = sys.executable
    venv = tmp_path / "venv"
    _run([python, "-m", "venv", str(venv)], tmp_path, env)
    vpy, bindir = venv / "bin" / "python", venv / "bin"
    _run([str(vpy), "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)], tmp_path, env)
    (wheel,) = dist.glob("swat_desk-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for needed in (
        "swat/templates/auth/login.html",
        "swat/static/css/app.css",
        "swat/translations/ja/LC_MESSAGES/messages.mo",
        "swat/translations/en/LC_MESSAGES/messages.mo",
        "swat/migrations/env.py",
        "swat/migrations/alembic.ini",
        "swat/migrations/script.py.mako",
        "swat/migrations/versions/0001_initial_schema.py",
        "swat/config/default.toml",
        "swat/config/reference/routing.yaml",
    ):
        assert needed in names, needed
    assert "swat/config/testing.toml" not in names

    # As the README deploys it: the locked runtime set, then the wheel without dependencies.
    lock = source / "requirements.txt"
    _run([str(vpy), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", str(lock)], tmp_path, env, timeout=600)
    _run([str(vpy), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], tmp_path, env)
    _run([str(vpy), "-m", "pip", "check"], tmp_path, env)

    empty = tmp_path / "empty"
    empty.mkdir()
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # where an installed package keeps its instance
    site_packages = Path(
        _run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], empty, env).strip()
    )
    origin = _run(
        [str(vpy), "-c", "import swat, swat.resources as r; print(swat.__file__); print(r.INSTALLED)"], empty, env
    ).split()
    assert Path(origin[0]).is_relative_to(site_packages), origin  # the wheel, not the checkout
    assert origin[1] == "True"

    _run([str(bindir / "swat"), "db", "upgrade"], empty, env)
    _run([str(bindir / "swat"), "reference", "load"], empty, env)
    subprocess.run(
        [str(bindir / "swat"), "users", "create", "--username", "chief", "--password-stdin", "--role", "admin"],
        cwd=empty,
        env=env,
        input="a long passphrase 42\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )

    server = subprocess.Popen(
        [str(bindir / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1", "swat.app:create_app()"],
        cwd=empty,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = None
        for line in server.stderr:
            if "Listening at: http://127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1].split()[0].strip("/ )"))
                break
        assert port, "gunicorn did not start"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/login", headers={"Accept-Language": "ja"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200
        assert "<h1>ログイン</h1>" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/css/app.css", timeout=30) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()

    instance = tmp_path / "data" / "swat-desk"
    assert (instance / "swat.db").is_file() and (instance / "secret_key").is_file()
    assert not list(empty.iterdir())  # nothing written where the commands ran
    assert not [p for p in site_packages.joinpath("swat").rglob("*") if p.name in ("swat.db", "secret_key")]
