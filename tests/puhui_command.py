"""Run the ``puhui`` command inside the test's process, as ``python -m puhui.cli`` would run.

A subprocess pays a fresh interpreter and every import (about a second) for each command;
this calls the same entry point, :func:`puhui.cli.main`, with its own arguments, streams
and environment, so its error translation (one line, exit 2), usage errors and exit codes
are the ones a user meets. Use a real subprocess where the process itself is the point: a
server, a kill, a signal.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from unittest import mock

from rich.console import Console
from typer.testing import CliRunner

#: The modules that hold the commands' consoles (module-level, made on import).
CONSOLE_MODULES = ("puhui.cli", "puhui.govlists.clihelp")


def run_puhui(
    *args: str, home: Path | None = None, env: Mapping[str, str | None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``puhui [--home HOME] ARGS`` with ``env`` over the environment (None unsets a
    variable); its exit code, standard output and standard error, as :func:`subprocess.run`
    would give them."""
    from puhui import cli

    argv = ["puhui", *(["--home", str(home)] if home is not None else []), *args]
    # Empty standard input, as a command run without a terminal has; stdout and stderr apart.
    with (
        CliRunner().isolation(env=dict(env or {})) as (out, err, _),
        mock.patch.object(sys, "argv", argv),
        _fresh_consoles(),
    ):
        try:
            cli.main()
            code = 0
        except SystemExit as exit_:
            code = _exit_status(exit_.code)
        sys.stdout.flush()
        sys.stderr.flush()
        # Read before the isolation ends: it closes the streams.
        stdout, stderr = out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8")
    return subprocess.CompletedProcess(argv, code, stdout, stderr)


@contextmanager
def _fresh_consoles() -> Iterator[None]:
    """The commands' rich consoles made anew, as a new process makes them on import: they
    take their width from the environment then (COLUMNS), whatever earlier use in this
    process left on the module's ones."""
    with ExitStack() as stack:
        for module in CONSOLE_MODULES:
            for name, console in list(vars(importlib.import_module(module)).items()):
                if isinstance(console, Console):
                    fresh = Console(stderr=console.stderr, soft_wrap=console.soft_wrap)
                    stack.enter_context(mock.patch.object(sys.modules[module], name, fresh))
        yield


def _exit_status(code: object) -> int:
    """The process's exit status for ``sys.exit(code)``: None is 0, a message is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
