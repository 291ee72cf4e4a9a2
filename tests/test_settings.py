from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import load_settings


def test_embedded_defaults_need_no_file(tmp_path):
    s = load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})
    assert s.db_url.startswith("sqlite:///")
    assert not s.smtp.configured
    assert s.sources_file.name == "sources.toml" and s.sources_file.exists()  # the shipped default


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
    assert s.smtp.password.get_secret_value() == "s3cret"
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


def test_a_config_folder_file_wins_over_the_shipped_default(tmp_path):
    (tmp_path / "sources.toml").write_text("", encoding="utf-8")
    s = load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})
    assert s.sources_file == tmp_path / "sources.toml"
    assert s.clusters_file.exists() and s.clusters_file.parent != tmp_path


def test_a_config_folder_in_the_working_directory_is_used(tmp_path, monkeypatch):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "xznews.toml").write_text('log_level = "DEBUG"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.log_level == "DEBUG" and s.config_dir == tmp_path / "config"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            'databse_url = "postgresql://x@h/db"\n',
            r"databse_url: unknown key \(did you mean 'database_url'\?\)",
        ),
        ('[smpt]\nhost = "mail"\n', r"smpt: unknown key \(did you mean 'smtp'\?\)"),
        ('[smtp]\nhots = "mail"\n', r"smtp.hots: unknown key \(did you mean 'host'\?\)"),
        ('timezone = "Mars/Base"\n', r"timezone: unknown time zone 'Mars/Base'"),
        ("[smtp]\ntimeout_s = -1\n", r"smtp.timeout_s: Input should be greater than 0"),
        ("[fetch]\nmax_bytes = -5\n", r"fetch.max_bytes: Input should be greater than or equal to 1024"),
        ("digest_max_items = 0\n", r"digest_max_items: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_key_or_value_in_the_file_is_an_error_naming_it(tmp_path, toml, expected):
    (tmp_path / "xznews.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"xznews.toml: " + expected):
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})


def test_a_bad_environment_value_blames_the_variable_not_the_file(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path), "XZNEWS_WEB_PORT": "abc"})
    assert str(err.value).startswith("environment variable XZNEWS_WEB_PORT='abc': ")
    assert "xznews.toml" not in str(err.value)


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path):
    (tmp_path / "xznews.toml").write_bytes('log_level = "调试"\n'.encode("gb18030"))
    with pytest.raises(ConfigError, match="xznews.toml: not UTF-8 text"):
        load_settings(environ={"XZNEWS_CONFIG_DIR": str(tmp_path)})


def test_repr_never_shows_the_smtp_password_or_the_database_url():
    s = load_settings(
        environ={"XZNEWS_SMTP_PASSWORD": "s3cret-pw", "XZNEWS_DATABASE_URL": "postgresql://a:hunter2@h/x"}
    )
    assert "s3cret-pw" not in repr(s) and "hunter2" not in repr(s) and "s3cret-pw" not in str(s)


def test_masked_hides_a_password_in_a_query_string_and_invents_no_mask():
    s = load_settings(
        environ={"XZNEWS_DATABASE_URL": "postgresql://app@db/x?password=hunter2&sslmode=require"}
    )
    shown = s.masked()
    assert "hunter2" not in str(shown) and "sslmode=require" in shown["database_url"]
    assert shown["database_url"].startswith("postgresql://app@db/")  # no phantom ":********" for the user
    assert shown["smtp"]["password"] == ""  # none set, none shown
