from __future__ import annotations

import stat
from pathlib import Path

import pytest

from puhui.settings import Engine, Settings, get_settings


def test_defaults_and_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PUHUI_HOME", raising=False)
    monkeypatch.delenv("PUHUI_DATABASE_URL", raising=False)
    monkeypatch.delenv("PUHUI_ENGINE", raising=False)
    defaults = Settings()
    assert defaults.home == Path("var")
    assert defaults.engine is Engine.DUCKDB
    assert defaults.app_database_url.endswith("/var/app.db")
    monkeypatch.setenv("PUHUI_HOME", str(tmp_path))
    monkeypatch.setenv("PUHUI_ENGINE", "spark")
    monkeypatch.setenv("PUHUI_DATABASE_URL", "postgresql://u@h/db")
    configured = Settings()
    assert configured.home == tmp_path
    assert configured.engine is Engine.SPARK
    assert configured.app_database_url == "postgresql://u@h/db"
    # --home wins over the environment.
    assert get_settings(tmp_path / "other").home == tmp_path / "other"


def test_person_hash_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = Settings(home=tmp_path).person_hash_key
    assert Settings(home=tmp_path).person_hash_key == first
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert Settings(home=tmp_path / "b").person_hash_key != first
    assert Settings(home=tmp_path, secret_key="k").person_hash_key == b"k"  # type: ignore[arg-type]


def test_bad_engine_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUHUI_ENGINE", "oracle")
    with pytest.raises(ValueError, match="engine"):
        Settings()
