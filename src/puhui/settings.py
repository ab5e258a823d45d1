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
