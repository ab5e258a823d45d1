"""``puhui report service``: the bank service report (考核通报) as an Excel workbook.

Mounted on the main app by :mod:`puhui.cli`; acts as the platform (every bank).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

report_app = typer.Typer(help="Reports: the bank service report (考核通报).", no_args_is_help=True)


def warehouse_first_loans(con: object) -> dict[str, date]:
    """The earliest loan start per borrower in the warehouse's loan history (``feed_loans``),
    empty when the warehouse has none."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'feed_loans'"
    ).fetchone()
    if not found or not found[0]:
        return {}
    rows = con.execute(
        "SELECT borrower_id, min(start) FROM feed_loans WHERE borrower_id IS NOT NULL"
        " GROUP BY borrower_id"
    ).fetchall()
    return {str(uscc): start for uscc, start in rows}


def _day(value: str, option: str) -> date:
    from puhui.errors import PuhuiError

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PuhuiError(
            f"{option} 需要 YYYY-MM-DD 格式的日期，收到 {value!r}",
            f"{option} needs a date as YYYY-MM-DD, got {value!r}",
        ) from None


@report_app.command("service")
def service(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--start", help="First day of submission YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day of submission YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="The .xlsx file to write.")],
    bank: Annotated[
        str | None, typer.Option("--bank", help="Only this bank, beside the region median.")
    ] = None,
    warehouse_loans: Annotated[
        bool,
        typer.Option(
            "--warehouse-loans",
            help="Count a first loan only if the warehouse's loan history has none before.",
        ),
    ] = False,
) -> None:
    """Write the bank service report of the applications submitted from --start to --end."""
    from puhui.errors import PuhuiError
    from puhui.govlists.clihelp import app_session, console, settings_of
    from puhui.service_report.excel import workbook
    from puhui.service_report.service import bank_service_report

    first, last = _day(start, "--start"), _day(end, "--end")
    if out.suffix.lower() != ".xlsx":
        raise PuhuiError("--out 须为 .xlsx 文件", "--out must name an .xlsx file")
    if out.exists() and out.is_dir():
        raise PuhuiError(f"{out} 是一个目录", f"{out} is a directory")
    cfg = settings_of(ctx)
    history = None
    if warehouse_loans:
        from puhui.ingest.engines import warehouse_reader

        with warehouse_reader(cfg) as con:
            history = warehouse_first_loans(con)
    with app_session(cfg) as session:
        if bank is not None:
            from puhui.accounts.service import get_bank

            if get_bank(session, bank) is None:
                raise PuhuiError(f"没有银行 {bank}", f"no bank {bank}")
        report = bank_service_report(session, first, last, bank, history)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(workbook(report))
    console.print(
        f"已写出 written {out}: {len(report.banks)} bank(s), {first} .. {last}", highlight=False
    )
