"""The ``puhui`` command: one Typer app with a sub-command group per domain.

Every command honours ``--home`` (else ``PUHUI_HOME``). Failures print one line, in
Chinese then English, and exit non-zero; ``--debug`` shows the traceback of an unexpected
failure instead (an expected one, such as a bad argument, is always one line).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from puhui.errors import PuhuiError
from puhui.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one line, never wrapped

app = typer.Typer(
    name="puhui",
    help="Puhui (普惠): digital inclusive finance for small businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="App database: migrations and reference tables.", no_args_is_help=True)
app.add_typer(db_app, name="db")
quarantine_app = typer.Typer(
    help="Rows of deliveries that broke the contract.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")
link_app = typer.Typer(help="Resolve records to businesses (run without a sub-command to link).")
app.add_typer(link_app, name="link")
features_app = typer.Typer(
    help="Point-in-time features per business (run with --as-of to compute)."
)
app.add_typer(features_app, name="features")

_state: dict[str, object] = {"debug": False}


@app.callback()
def main_options(
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Region data directory (default: $PUHUI_HOME or ./var)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False,
) -> None:
    _state["home"] = home
    _state["debug"] = debug


def settings() -> Settings:
    home = _state.get("home")
    return get_settings(home if isinstance(home, Path) else None)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def parse_date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PuhuiError(
            f"{option} 需要 YYYY-MM-DD 格式的日期，收到 {value!r}",
            f"{option} needs a date as YYYY-MM-DD, got {value!r}",
        ) from None


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the delivery and truth/ into.")],
    entities: Annotated[int, typer.Option(min=1, max=5_000_000, help="Businesses.")] = 20_000,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed, same files.")] = 1,
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")] = "2026-06-30",
) -> None:
    """Simulate a region: one delivery of all fifteen feeds, and its truth kept apart."""
    from puhui.simulate.service import SimulationConfig
    from puhui.simulate.service import simulate as run_simulation

    config = SimulationConfig(entities=entities, seed=seed, as_of=parse_date(as_of, "--as-of"))
    if out_dir.exists() and not out_dir.is_dir():
        raise PuhuiError(f"{out_dir} 不是文件夹", f"{out_dir} is not a folder")
    with progress_bar() as bar:
        task = bar.add_task("模拟区域 simulating", total=entities)

        def advance(_stage: str, done: int, _total: int) -> None:
            bar.update(task, completed=done)

        result = run_simulation(out_dir, config, advance)
    table = Table(title=f"交付 Delivery: {out_dir}")
    for column in ("feed", "rows", "bad rows", "duplicates"):
        table.add_column(column, justify="right" if column != "feed" else "left")
    for feed, rows in result.rows.items():
        table.add_row(
            feed, f"{rows:,}", f"{result.bad_rows[feed]:,}", f"{result.duplicates[feed]:,}"
        )
    console.print(table)
    console.print(f"完成 done in {result.seconds:.1f}s; truth in {out_dir / 'truth'}")


@app.command()
def ingest(
    delivery_dir: Annotated[Path, typer.Argument(help="Folder of one department delivery.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the accounting as JSON here.")
    ] = None,
) -> None:
    """Validate and load a delivery into the warehouse: all files or none, nothing lost."""
    import json

    from puhui.ingest.engines import ingest as ingest_on_engine

    if not delivery_dir.is_dir():
        raise PuhuiError(f"{delivery_dir} 不是文件夹", f"{delivery_dir} is not a folder")
    with progress_bar() as bar:
        task = bar.add_task("入库 ingesting", total=None)

        def advance(name: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=name)

        result = ingest_on_engine(settings(), delivery_dir, advance)
    table = Table(title=f"入库 Ingest {result.delivery_id}")
    for column in ("feed", "read", "loaded", "unchanged", "quarantined"):
        table.add_column(column, justify="left" if column == "feed" else "right")
    for feed, counts in sorted(result.feeds.items()):
        table.add_row(
            feed,
            f"{counts.read:,}",
            f"{counts.loaded:,}",
            f"{counts.unchanged:,}",
            f"{counts.quarantined:,}",
        )
    console.print(table)
    for error in result.file_errors:
        line = f"{error.file}: {error.reason_zh} ({error.reason_en})"
        err_console.print(f"[yellow]未读取 not read:[/yellow] {line}", highlight=False)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(result.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    console.print(f"完成 done in {result.seconds:.1f}s")


@quarantine_app.command("list")
def quarantine_list(
    feed: Annotated[str | None, typer.Option(help="Only this feed.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
) -> None:
    """Show quarantined rows: feed, file, row, column and the reason."""
    from puhui.ingest.contract import FEEDS
    from puhui.ingest.engines import quarantine_rows

    if feed is not None and feed not in FEEDS:
        raise PuhuiError(f"没有名为 {feed} 的数据项", f"no feed named {feed!r}")
    rows = quarantine_rows(settings(), feed, limit)
    table = Table(title="隔离区 Quarantine")
    for column in ("feed", "file", "row", "column", "reason"):
        table.add_column(column)
    for feed_name, file, row, column, reason_zh, reason_en in rows:
        table.add_row(feed_name, file, str(row), column, f"{reason_zh}\n{reason_en}")
    console.print(table)


@quarantine_app.command("export")
def quarantine_export(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Write every quarantined row as CSV: feed,file,row,column,reason."""
    from puhui.ingest.engines import export_quarantine

    count = export_quarantine(settings(), out)
    console.print(f"已导出 exported {count:,} rows to {out}")


@link_app.callback(invoke_without_command=True)
def link(
    ctx: typer.Context,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=0.01, max=1.0, help="Probability a candidate needs (default 0.4)."
        ),
    ] = 0.4,
) -> None:
    """Link every record of the warehouse to a registered business."""
    if ctx.invoked_subcommand is not None:
        return
    from puhui.link.engines import link as link_on_engine

    with console.status("链接 linking records to businesses"):
        result = link_on_engine(settings(), threshold)
    table = Table(title="链接 Link")
    for column in ("feed", "records", "uscc", "person", "probabilistic", "review", "unlinked"):
        table.add_column(column, justify="left" if column == "feed" else "right")
    for feed, c in result.feeds.items():
        table.add_row(
            feed,
            *(f"{v:,}" for v in (c.records, c.uscc, c.person, c.probabilistic, c.review)),
            f"{c.unlinked:,}",
        )
    console.print(table)
    console.print(f"完成 done in {result.seconds:.1f}s")


@link_app.command("review")
def link_review(
    feed: Annotated[str | None, typer.Option("--feed", help="Only this feed.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 50,
) -> None:
    """Records that fell short of a link, with their best candidate and why."""
    from puhui.ingest.engines import warehouse_reader
    from puhui.link.records import LINKED_FEEDS
    from puhui.link.service import review_rows

    if feed is not None and feed not in LINKED_FEEDS:
        raise PuhuiError(
            f"--feed 须为 {'、'.join(LINKED_FEEDS)} 之一，收到 {feed!r}",
            f"--feed must be one of {', '.join(LINKED_FEEDS)}, got {feed!r}",
        )
    with warehouse_reader(settings()) as con:
        rows = review_rows(con, feed, limit)
    table = Table(title="待复核 Review")
    for column in ("feed", "record_key", "candidate", "name", "p", "reason"):
        table.add_column(column)
    for row in rows:
        probability = row["probability"]
        table.add_row(
            str(row["feed"]),
            str(row["record_key"]),
            str(row["candidate_uscc"] or ""),
            str(row["candidate_name"] or ""),
            f"{probability:.3f}" if isinstance(probability, float) else "",
            f"{row['reason_zh']} ({row['reason_en']})",
        )
    console.print(table)


@link_app.command("export")
def link_export(out: Annotated[Path, typer.Option("--out", help="CSV file to write.")]) -> None:
    """Write every record's link as CSV: feed,record_key,uscc,method,probability."""
    from puhui.ingest.engines import warehouse_reader
    from puhui.link.service import export_links

    with warehouse_reader(settings()) as con:
        count = export_links(con, out)
    console.print(f"已导出 exported {count:,} records to {out}")


@link_app.command("evaluate")
def link_evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="A simulator's truth/ folder.")],
) -> None:
    """Precision and recall of the links of records without a uscc, per feed."""
    from puhui.ingest.engines import warehouse_reader
    from puhui.link.service import evaluate

    with warehouse_reader(settings()) as con:
        results = evaluate(con, truth)
    table = Table(title="链接质量 Link accuracy (records without a uscc)")
    for column in ("feed", "records", "resolvable", "linked", "correct", "precision", "recall"):
        table.add_column(column, justify="left" if column == "feed" else "right")
    for e in results:
        table.add_row(
            e.feed,
            *(f"{v:,}" for v in (e.records, e.resolvable, e.linked, e.correct)),
            f"{e.precision:.4f}",
            f"{e.recall:.4f}",
        )
    console.print(table)


@features_app.callback(invoke_without_command=True)
def features(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")] = None,
) -> None:
    """Compute every business's features as of a date, from data dated before it."""
    if ctx.invoked_subcommand is not None:
        return
    if as_of is None:
        raise PuhuiError("需要 --as-of YYYY-MM-DD", "--as-of YYYY-MM-DD is required")
    from puhui.features.engines import compute

    day = parse_date(as_of, "--as-of")
    with console.status(f"特征 computing features as of {day}"):
        count = compute(settings(), day)
    console.print(f"已计算 computed features of {count:,} businesses as of {day}")


@features_app.command("export")
def features_export(
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
) -> None:
    """Write the features of an as-of date to Parquet (computing them if needed)."""
    from puhui.features.engines import export

    day = parse_date(as_of, "--as-of")
    count = export(settings(), day, out)
    console.print(f"已导出 exported features of {count:,} businesses to {out}")


@features_app.command("list")
def features_list() -> None:
    """Every feature: name, description, window."""
    from puhui.features.registry import features as registered

    table = Table(title="特征 Features")
    for column in ("block", "feature", "说明", "description", "window"):
        table.add_column(column)
    for block, feature in registered():
        table.add_row(block.name, feature.name, feature.zh, feature.en, feature.window)
    console.print(table)


@app.command()
def publish(
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")],
) -> None:
    """Publish every business's credit profile (画像) as of a date to the app database."""
    from puhui.db import make_engine, unit_of_work
    from puhui.features.service import publish_profiles
    from puhui.ingest.engines import warehouse_reader

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    engine = make_engine(cfg.app_database_url)
    with (
        console.status(f"发布 publishing profiles as of {day}"),
        warehouse_reader(cfg) as con,
        unit_of_work(engine) as session,
    ):
        count = publish_profiles(con, session, day)
    engine.dispose()
    console.print(f"已发布 published {count:,} profiles as of {day}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the app database to the latest schema and seed reference tables."""
    from puhui.db import make_engine, unit_of_work, upgrade
    from puhui.reference.service import seed_reference_tables

    cfg = settings()
    cfg.ensure_home()
    upgrade(cfg.app_database_url)
    engine = make_engine(cfg.app_database_url)
    with unit_of_work(engine) as session:
        counts = seed_reference_tables(session)
    engine.dispose()
    console.print(
        f"数据库已就绪 database ready: {counts['divisions']:,} divisions, "
        f"{counts['industries']:,} industries"
    )


@db_app.command("status")
def db_status() -> None:
    """Show the database URL (without password) and its migration revision."""
    from sqlalchemy.engine import make_url

    from puhui.db import current_revision, make_engine

    cfg = settings()
    url = make_url(cfg.app_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise PuhuiError(
            f"数据库 {url.database} 尚未创建，请先运行 puhui db upgrade",
            f"database {url.database} does not exist yet: run puhui db upgrade first",
        )
    engine = make_engine(cfg.app_database_url)
    revision = current_revision(engine)
    engine.dispose()
    shown = url.render_as_string(hide_password=True)
    console.print(f"{shown}  revision: {revision or '(empty)'}")


def main() -> None:
    """Entry point: run the app, turning every failure into one line and an exit code."""
    try:
        app(standalone_mode=False)
    except PuhuiError as error:
        err_console.print(f"[red]错误 error:[/red] {error}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("已中止 aborted")
        sys.exit(130)
    except Exception as error:
        # Usage errors (Typer's bundled click): they print their own message and usage.
        show, exit_code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(exit_code, int):
            show()
            sys.exit(exit_code)
        if _state.get("debug"):
            raise
        err_console.print(
            f"[red]意外错误 unexpected error:[/red] {type(error).__name__}: {error} "
            "(rerun with --debug for details)",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
