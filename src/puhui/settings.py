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

    def ensure_home(self) -> None:
        for directory in (self.home, self.warehouse_dir, self.models_dir, self.reports_dir):
            directory.mkdir(parents=True, exist_ok=True)


def get_settings(home: Path | None = None) -> Settings:
    """Settings from the environment, with ``home`` (the CLI's ``--home``) taking precedence."""
    if home is not None:
        return Settings(home=home)
    return Settings()
