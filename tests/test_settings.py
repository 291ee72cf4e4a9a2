from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import load_settings


def test_embedded_defaults_need_no_file(tmp_path):
    s = load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})
    assert s.db_url.startswith("sqlite:///")
    assert not s.smtp.configured
    assert s.sources_file == tmp_path / "sources.toml"


def test_environment_overrides_the_file(tmp_path):
    (tmp_path / "xznews.toml").write_text(
        'log_level = "DEBUG"\n[smtp]\nhost = "file-host"\n', encoding="utf-8"
    )
    s = load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path), "XZNEWS_SMTP_HOST": "env-host"})
    assert s.log_level == "DEBUG"
    assert s.smtp.host == "env-host"


def test_secret_comes_from_a_file_named_by_the_environment(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    s = load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path), "XZNEWS_SMTP_PASSWORD_FILE": str(secret)})
    assert s.smtp.password == "s3cret"
    assert s.masked()["smtp"]["password"] == "********"


def test_a_password_in_the_config_file_is_refused_naming_the_key(tmp_path):
    (tmp_path / "xznews.toml").write_text('[smtp]\npassword = "oops"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"xznews.toml: smtp.password"):
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})


def test_an_invalid_value_names_the_file_and_the_key(tmp_path):
    (tmp_path / "xznews.toml").write_text('[smtp]\nsecurity = "ssl3"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})
    assert "xznews.toml" in str(err.value) and "smtp.security" in str(err.value)


def test_broken_toml_names_the_file(tmp_path):
    (tmp_path / "xznews.toml").write_text("log_level = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="xznews.toml: invalid TOML"):
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})


def test_a_named_config_file_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(environ={"XZNEWS_CONFIG": str(tmp_path / "nope.toml")})


def test_masked_database_url_hides_the_password():
    s = load_settings(environ={"XZNEWS_DATABASE_URL": "postgresql://app:hunter2@db:5432/x"})
    assert "hunter2" not in str(s.masked())
