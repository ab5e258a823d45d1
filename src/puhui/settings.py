"""One settings object for a Puhui region, read from ``PUHUI_*`` environment variables.

A region lives in one home directory (``PUHUI_HOME``): its warehouse, app database,
models and reports. Several regions can live side by side by pointing at different homes.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Engine(StrEnum):
    """Warehouse engine: embedded DuckDB by default, Spark when a province outgrows one machine."""

    DUCKDB = "duckdb"
    SPARK = "spark"


class Settings(BaseSettings):
    """Settings of one region. Construct with ``Settings(home=...)`` to override the env."""

    model_config = SettingsConfigDict(env_prefix="PUHUI_", extra="ignore")

    home: Path = Field(default=Path("var"), description="data directory of one region")
    database_url: str | None = Field(
        default=None, description="app database URL; default SQLite file under home"
    )
    engine: Engine = Field(default=Engine.DUCKDB, description="warehouse engine")
    spark_master: str = Field(
        default="local[2]", description="Spark master URL when the engine is spark"
    )
    spark_driver_memory: str = Field(
        default="4g", description="Spark driver heap (in local mode, the whole engine's)"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="key for hashing person ids; default a random key kept in home/secret.key",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="key signing web session cookies; default a random key in home/session.key",
    )
    cookie_secure: bool = Field(
        default=True,
        description="send cookies over HTTPS only (Secure); turn off only for http://127.0.0.1",
    )
    session_hours: int = Field(default=12, ge=1, le=24 * 30, description="page session lifetime")
    token_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="lifetime of an API bearer token"
    )
    login_attempts: int = Field(
        default=5, ge=1, description="failed sign-ins per name and address before a pause"
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="how long failed sign-ins count towards the pause"
    )
    # The request's hot path (docs/decisions.md, "Under load").
    db_pool_pre_ping: bool = Field(
        default=True,
        description="test each pooled app-database connection before use (a round trip); "
        "turn off for a database on this machine, where connections do not go stale",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=100,
        description="PostgreSQL connections each web worker keeps open; up to 10 more are "
        "opened and closed again while more are busy (each costs the database a process)",
    )
    token_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="keep a verified bearer token or page session in memory this long (never "
        "past its expiry; revoking drops it at once in every worker on PostgreSQL); 0: off",
    )
    audit_chain: Literal["auto", "inline", "deferred"] = Field(
        default="auto",
        description="when web requests' audit rows join the hash chain: inline (in the "
        "request's transaction), deferred (by a short step right after it commits), or auto "
        "(deferred on PostgreSQL, inline on SQLite)",
    )
    audit_chain_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="deferred audit chain: how often each worker also chains rows left by "
        "others (the longest an entry waits when nothing wakes the chainer)",
    )
    # Notices (docs/notices.md): which sender delivers each channel, and its connection.
    notice_sms_sender: Literal["console", "http"] = Field(
        default="console", description="SMS sender: console (stdout, masked) or http (gateway)"
    )
    notice_email_sender: Literal["console", "smtp"] = Field(
        default="console", description="email sender: console (stdout, masked) or smtp"
    )
    notice_max_attempts: int = Field(
        default=8, ge=1, le=100, description="attempts before a notice is given up (dead)"
    )
    notice_backoff_seconds: float = Field(
        default=30.0, gt=0, description="wait after a notice's first failure; doubles each time"
    )
    notice_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="longest wait between two attempts of a notice"
    )
    sms_gateway_url: str | None = Field(
        default=None, description="URL the http SMS sender POSTs {to, text} to"
    )
    sms_gateway_token: SecretStr | None = Field(
        default=None, description="bearer token of the SMS gateway, if it wants one"
    )
    sms_gateway_timeout: float = Field(
        default=10.0, gt=0, le=300, description="seconds to wait for the SMS gateway"
    )
    smtp_host: str | None = Field(default=None, description="SMTP server of the smtp sender")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    smtp_user: str | None = Field(default=None, description="SMTP login name, if any")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password")
    smtp_starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS")
    smtp_ssl: bool = Field(default=False, description="implicit TLS from the start (port 465)")
    smtp_from: str | None = Field(default=None, description="From address of notice emails")
    smtp_timeout: float = Field(
        default=10.0, gt=0, le=300, description="seconds to wait for the SMTP server"
    )

    @property
    def app_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'app.db').resolve()}"

    @property
    def warehouse_dir(self) -> Path:
        return self.home / "warehouse"

    @property
    def spark_warehouse_dir(self) -> Path:
        """The warehouse as Parquet tables, when the engine is spark."""
        return self.home / "spark-warehouse"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def policy_file(self) -> Path | None:
        """The operator's policy (home/policy.yaml) if there is one, else None: the default."""
        path = self.home / "policy.yaml"
        return path if path.exists() else None

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @cached_property
    def person_hash_key(self) -> bytes:
        """Key of the keyed hash of person ids: from the env, else the region's own key file.

        The key file is created once with owner-only permissions, so the same region hashes
        the same person to the same value across runs, and two regions do not share hashes.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        key_file = self.home / "secret.key"
        if not key_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()

    @cached_property
    def session_key(self) -> str:
        """Key signing the web session cookie: from the env, else the region's own key file
        (created once, owner-only), so sessions survive a restart and all workers agree."""
        if self.session_secret is not None:
            return self.session_secret.get_secret_value()
        key_file = self.home / "session.key"
        if not key_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another worker made it first
                return key_file.read_text().strip()
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return key_file.read_text().strip()

    def ensure_home(self) -> None:
        for directory in (self.home, self.warehouse_dir, self.models_dir, self.reports_dir):
            directory.mkdir(parents=True, exist_ok=True)


def get_settings(home: Path | None = None) -> Settings:
    """Settings from the environment, with ``home`` (the CLI's ``--home``) taking precedence."""
    if home is not None:
        return Settings(home=home)
    return Settings()
