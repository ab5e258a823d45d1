"""What the domain command groups (``puhui govlists``, ``puhui report``) share with the main
command without importing :mod:`puhui.cli` (which, run as ``python -m puhui.cli``, is another
module object with its own ``--home``): the region's settings from the root command's
options, and one unit of work on its app database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from puhui.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of this invocation: ``--home`` of the root command, else the env."""
    home = ctx.find_root().params.get("home")
    return get_settings(home if isinstance(home, Path) else None)


@contextmanager
def app_session(cfg: Settings) -> Iterator[Session]:
    """One unit of work on the app database of ``cfg``."""
    from puhui.db import make_engine, unit_of_work

    engine = make_engine(cfg.app_database_url)
    try:
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()
