"""Settings that were removed fail with their reason, not a bare "unknown setting"."""

import pytest

from swat.settings import SettingsError, load_settings


def test_an_old_timezone_setting_is_refused_with_the_reason(tmp_path):
    old = tmp_path / "old.toml"
    old.write_text('timezone = "Asia/Tokyo"\n')
    with pytest.raises(SettingsError, match=r"old\.toml: setting 'timezone' was removed: .*Asia/Tokyo"):
        load_settings(environ={"SWAT_CONFIG": str(old)})
    with pytest.raises(SettingsError, match="SWAT_TIMEZONE was removed: .*Asia/Tokyo"):
        load_settings(environ={"SWAT_TIMEZONE": "UTC"})
    with pytest.raises(SettingsError, match="'timezone' was removed"):
        load_settings({"timezone": "UTC"}, environ={})


PRODUCTION = {"SWAT_ENV": "production", "SWAT_SECRET_KEY": "k" * 40}


def test_production_turns_on_secure_cookies_unless_told_otherwise(tmp_path):
    environ = {**PRODUCTION, "SWAT_INSTANCE_PATH": str(tmp_path), "SWAT_BASE_URL": "https://swat.pref.example.jp"}
    assert load_settings(environ=environ)["secure_cookies"] is True
    assert load_settings(environ={**environ, "SWAT_SECURE_COOKIES": "false"})["secure_cookies"] is False
    told = tmp_path / "prod.toml"
    told.write_text("secure_cookies = false\n")
    assert load_settings(environ={**environ, "SWAT_CONFIG": str(told)})["secure_cookies"] is False
    # outside production the default stays off (plain http on a developer's machine)
    assert load_settings(environ={"SWAT_INSTANCE_PATH": str(tmp_path)})["secure_cookies"] is False


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (None, "production needs base_url"),
        ("http://swat.pref.example.jp", "must use https://"),
        ("swat.pref.example.jp", "expected an address"),
        ("https://swat.pref.example.jp", None),
        ("http://127.0.0.1:8000", None),
        ("http://localhost:8000", None),
    ],
)
def test_production_needs_an_https_base_url(tmp_path, base_url, problem):
    environ = {**PRODUCTION, "SWAT_INSTANCE_PATH": str(tmp_path)}
    if base_url is not None:
        environ["SWAT_BASE_URL"] = base_url
    if problem is None:
        assert load_settings(environ=environ)["base_url"] == base_url
    else:
        with pytest.raises(SettingsError, match=problem):
            load_settings(environ=environ)


def test_service_links_of_container_platforms_are_tolerated_and_typos_are_not(tmp_path):
    injected = {
        "SWAT_SERVICE_HOST": "10.96.0.12",
        "SWAT_SERVICE_PORT": "8000",
        "SWAT_SERVICE_PORT_HTTP": "8000",
        "SWAT_PORT": "tcp://10.96.0.12:8000",
        "SWAT_PORT_8000_TCP": "tcp://10.96.0.12:8000",
        "SWAT_PORT_8000_TCP_PROTO": "tcp",
        "SWAT_PORT_8000_TCP_PORT": "8000",
        "SWAT_PORT_8000_TCP_ADDR": "10.96.0.12",
        "SWAT_DB_SERVICE_HOST": "10.96.0.20",
        "SWAT_DB_PORT_5432_TCP": "tcp://10.96.0.20:5432",
        "SWAT_DB_NAME": "/web/swat_db",
        "SWAT_DB_ENV_POSTGRES_DB": "swat",
    }
    settings = load_settings(environ={**injected, "SWAT_INSTANCE_PATH": str(tmp_path), "SWAT_SMTP_PORT": "2525"})
    assert settings["smtp_port"] == 2525
    for typo in ({"SWAT_SMPT_PORT": "25"}, {"SWAT_PORT": "8000"}, {"SWAT_SERVICE_HOST_X": "a"}):
        with pytest.raises(SettingsError, match="unknown environment setting"):
            load_settings(environ={**typo, "SWAT_INSTANCE_PATH": str(tmp_path)})


def _swat(tmp_path, *args, **env):
    import os
    import subprocess
    import sys
    from pathlib import Path

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWAT_")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "swat"), *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_says_what_is_wrong_with_the_settings_in_one_line(tmp_path):
    r = _swat(tmp_path, "db", "upgrade", SWAT_ENV="production", SWAT_INSTANCE_PATH=str(tmp_path / "i"))
    assert r.returncode == 2
    assert r.stderr.strip() == "swat: production needs SWAT_SECRET_KEY (at least 32 characters); refusing to start"
    (tmp_path / "file").write_text("not a folder")
    r = _swat(tmp_path, "db", "upgrade", SWAT_INSTANCE_PATH=str(tmp_path / "file" / "instance"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "instance_path" in r.stderr and "cannot be made" in r.stderr and "SWAT_INSTANCE_PATH" in r.stderr


def test_metrics_allow_takes_addresses_and_networks_and_refuses_the_rest(tmp_path):
    s = load_settings({"instance_path": str(tmp_path), "metrics_allow": "10.0.5.20, 192.168.0.0/24, ::1"})
    assert [str(n) for n in s["metrics_allow"]] == ["10.0.5.20/32", "192.168.0.0/24", "::1/128"]
    with pytest.raises(SettingsError, match="metrics_allow"):
        load_settings({"instance_path": str(tmp_path), "metrics_allow": "10.0.0.300"})
    with pytest.raises(SettingsError, match="metrics_token must be at least 32"):
        load_settings({"instance_path": str(tmp_path), "metrics_token": "short"})
