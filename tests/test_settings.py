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
