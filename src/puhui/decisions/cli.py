"""``puhui decision``: replay a stored decision. Mounted on the main app by :mod:`puhui.cli`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

decision_app = typer.Typer(help="Real-time decisions: replay a stored one.", no_args_is_help=True)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@decision_app.command("replay")
def replay(
    ctx: typer.Context,
    decision: Annotated[str, typer.Argument(help="The decision's id (DC…) or number.")],
    all_fields: Annotated[
        bool, typer.Option("--all", help="Show every field, not only the differences.")
    ] = False,
) -> None:
    """Make a stored decision again from the models and policy it recorded, and compare it
    field by field with what was stored; exit 1 if any field differs."""
    from rich.table import Table

    from puhui.cli import app_session, console, err_console
    from puhui.decisions.service import replay as replay_decision
    from puhui.settings import get_settings

    # --home from the root command itself (under ``python -m puhui.cli`` the module this
    # imports is a second copy of the one that parsed the options).
    home = ctx.find_root().params.get("home")
    with app_session(get_settings(home if isinstance(home, Path) else None)) as session:
        result = replay_decision(session, decision)
        row = result.decision
        console.print(
            f"决策 decision {row.public_id} (#{row.id}) of {row.created_at:%Y-%m-%d %H:%M:%S}: "
            f"{row.uscc}, {row.outcome}; models {row.champion_model_id}"
            f"{''.join(f', {i}' for i in row.challenger_model_ids)}; policy "
            f"{row.policy_version} ({row.policy_fingerprint[:12]})",
            highlight=False,
        )
        table = Table(title="重算 replay")
        for column in ("field", "stored", "recomputed", ""):
            table.add_column(column)
        shown = [check for check in result.fields if all_fields or not check.same]
        for check in shown:
            table.add_row(
                check.path,
                _shown(check.stored),
                _shown(check.recomputed),
                "same" if check.same else "[red]different[/red]",
            )
        if shown:
            console.print(table)
        for note in result.notes:
            err_console.print(f"[red]注意 note:[/red] {note}", highlight=False)
        differing = len(result.differences)
        if result.same:
            console.print(
                f"相同 same: all {len(result.fields)} fields recomputed equal", highlight=False
            )
            return
        err_console.print(
            f"[red]不同 different:[/red] {differing} of {len(result.fields)} fields differ",
            highlight=False,
        )
    sys.exit(1)
