"""Where the app's resources and the instance folder are, in a checkout and when installed."""

from __future__ import annotations

from pathlib import Path

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
