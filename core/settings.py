"""One typed settings object, built once at start-up and passed in.

Sources of values, later ones winning: built-in defaults → `config/xznews.toml` → `XZNEWS_*` environment
variables. Secrets (SMTP password, bot secrets) come only from the environment or a `*_FILE` path.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from core import resources
from core.errors import ConfigError
from core.masking import MASK, mask_strings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_config_dir() -> Path:
    return resources.config_dir()


class _Strict(BaseModel):
    # A misspelt key (`databse_url`, `[smpt]`) must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid")


class SmtpSettings(_Strict):
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: str = Field("starttls", pattern="^(none|starttls|tls)$")
    username: str = ""
    password: SecretStr = SecretStr("")
    timeout_s: float = Field(30.0, gt=0)  # connect and every command but the end of DATA
    # RFC 5321 §4.5.3.2.6 gives the server 10 minutes to answer the final dot of DATA: waiting less turns a
    # slow server into a duplicate (the retry re-sends what the server did accept).
    data_timeout_s: float = Field(600.0, gt=0)

    @property
    def configured(self) -> bool:
        return bool(self.host)


class FetchSettings(_Strict):
    user_agent: str = "Mozilla/5.0 (compatible; xznews/0.1; Xuzhou industry news monitor)"
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0)
    max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    per_host_concurrency: int = Field(2, ge=1, le=8)
    per_host_delay_s: float = Field(1.0, ge=0)
    retries: int = Field(3, ge=0, le=10)
    backoff_s: float = Field(2.0, ge=0)
    # A Retry-After above this is not slept through: the host is deferred (skipped until then).
    max_retry_after_s: float = Field(30.0, ge=0)
    # Whole-fetch deadline (connect, redirects, retries, body): per-read timeouts alone never end a trickle.
    deadline_s: float = Field(120.0, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    respect_robots: bool = True
    allow_private_addresses: bool = False
    max_articles_per_run: int = Field(200, ge=1)


class Settings(_Strict):
    database_url: str = Field("", repr=False)  # may hold a password: never in repr()
    data_dir: Path = Path("var")
    config_dir: Path = Field(default_factory=default_config_dir)
    outbox_dir: Path | None = None
    sources_path: Path | None = None  # default: <config_dir>/sources.toml, else the shipped one
    timezone: str = "Asia/Shanghai"
    log_level: str = Field("INFO", pattern="(?i)^(debug|info|warning|error|critical)$")
    mail_from: str = "xznews <digest@xznews.local>"
    public_base_url: str = "http://localhost:8080"
    # A mailbox whose mail is acted on (someone unsubscribes the sender): only then does List-Unsubscribe offer
    # a mailto: beside the one-click URL, which is what acts by itself.
    unsubscribe_mailbox: str = ""
    digest_check_interval_s: int = Field(60, ge=5)
    # A digest window closes this far behind the clock, so an article stamped just before a dispatch but
    # committed just after it still falls in the next window (see alerts/dispatch.py).
    digest_settle_s: int = Field(120, ge=0)
    digest_max_items: int = Field(50, ge=1, le=1000)  # the rest is counted as "and N more"
    # A message handed to the SMTP server whose reply never came is re-sent once, after this long.
    digest_unknown_quiet_h: float = Field(24.0, ge=0)
    digest_disable_after: int = Field(3, ge=1)  # consecutive permanently failed digests (bounce policy)
    web_enabled: bool = True  # `xznews run` also serves the confirm/unsubscribe links
    web_host: str = "127.0.0.1"
    web_port: int = Field(8080, ge=0, le=65535)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError: pydantic would not catch it
            raise ValueError(
                f"unknown time zone {value!r}: expected an IANA name such as Asia/Shanghai"
            ) from None
        return value

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'xznews.db').resolve()}"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    @property
    def sources_file(self) -> Path:
        return self.sources_path or resources.config_file("sources.toml", self.config_dir)

    @property
    def clusters_file(self) -> Path:
        return resources.config_file("clusters.toml", self.config_dir)

    def masked(self) -> dict[str, Any]:
        """The settings as a dict with secrets masked, for `xznews config show`: a mask only where a secret is."""
        data = self.model_dump(mode="json")
        data["smtp"]["password"] = MASK if self.smtp.password.get_secret_value() else ""
        return mask_strings(data)  # type: ignore[return-value]


# Environment variables → dotted keys. Secrets have a *_FILE twin that names a file holding the value.
_ENV_KEYS = {
    "XZNEWS_DATABASE_URL": "database_url",
    "XZNEWS_DATA_DIR": "data_dir",
    "XZNEWS_CONFIG_DIR": "config_dir",
    "XZNEWS_OUTBOX_DIR": "outbox_dir",
    "XZNEWS_SOURCES": "sources_path",
    "XZNEWS_TIMEZONE": "timezone",
    "XZNEWS_LOG_LEVEL": "log_level",
    "XZNEWS_MAIL_FROM": "mail_from",
    "XZNEWS_PUBLIC_BASE_URL": "public_base_url",
    "XZNEWS_UNSUBSCRIBE_MAILBOX": "unsubscribe_mailbox",
    "XZNEWS_WEB_HOST": "web_host",
    "XZNEWS_WEB_PORT": "web_port",
    "XZNEWS_WEB_ENABLED": "web_enabled",
    "XZNEWS_SMTP_HOST": "smtp.host",
    "XZNEWS_SMTP_PORT": "smtp.port",
    "XZNEWS_SMTP_SECURITY": "smtp.security",
    "XZNEWS_SMTP_USERNAME": "smtp.username",
    "XZNEWS_SMTP_PASSWORD": "smtp.password",
    "XZNEWS_USER_AGENT": "fetch.user_agent",
}
_SECRET_ENV = {"XZNEWS_SMTP_PASSWORD", "XZNEWS_DATABASE_URL"}


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, dotted in _ENV_KEYS.items():
        value = environ.get(var)
        if value is None and var in _SECRET_ENV and environ.get(var + "_FILE"):
            path = Path(environ[var + "_FILE"])
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(path, var + "_FILE", f"cannot read secret file: {exc.strerror}") from exc
        if value is not None and value != "":
            _set_dotted(out, dotted, value)
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file; a syntax error is reported with the file name and line."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(path, None, "file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"invalid TOML: {exc}") from exc


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _explain(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        leaf = str(err["loc"][-1])
        close = difflib.get_close_matches(leaf, _known_keys(Settings, tuple(err["loc"])), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    return str(err["msg"]).removeprefix("Value error, ")


def load_settings(config_file: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build the settings. A missing default config file is fine (embedded defaults); a named one must exist.

    An unknown key is an error naming it; a bad value names the file and key it came from, or the environment
    variable when one set it.
    """
    environ = dict(os.environ if environ is None else environ)
    env = _env_overrides(environ)
    config_dir = Path(env.get("config_dir") or resources.config_dir(environ))
    path = config_file or Path(
        environ.get("XZNEWS_CONFIG") or resources.config_file("xznews.toml", config_dir)
    )
    data: dict[str, Any] = {"config_dir": str(config_dir)}
    if path.exists() or config_file is not None or "XZNEWS_CONFIG" in environ:
        file_data = read_toml(path)
        for secret in ("password",):
            if isinstance(file_data.get("smtp"), dict) and file_data["smtp"].get(secret):
                raise ConfigError(
                    path, f"smtp.{secret}", "secrets come from the environment (XZNEWS_SMTP_PASSWORD)"
                )
        _merge(data, file_data)
    _merge(data, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        var = next((v for v, dotted in _ENV_KEYS.items() if dotted == key and environ.get(v)), None)
        if var is not None:
            shown = "(secret)" if var in _SECRET_ENV else repr(environ[var])
            raise ConfigError(f"environment variable {var}={shown}", None, _explain(err)) from None
        raise ConfigError(path, key, _explain(err)) from None
