"""The ``puhui`` command: one Typer app with a sub-command group per domain.

Every command honours ``--home`` (else ``PUHUI_HOME``). Failures print one line, in
Chinese then English, and exit non-zero; ``--debug`` shows the traceback of an unexpected
failure instead (an expected one, such as a bad argument, is always one line).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from puhui.errors import PuhuiError
from puhui.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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
model_app = typer.Typer(help="Credit models: scorecards and their use.", no_args_is_help=True)
app.add_typer(model_app, name="model")
score_app = typer.Typer(help="Score every business (run with --as-of to score).")
app.add_typer(score_app, name="score")
users_app = typer.Typer(
    help="People who sign in: businesses, bank staff, government, operators.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
banks_app = typer.Typer(help="Banks that lend on the platform.", no_args_is_help=True)
app.add_typer(banks_app, name="banks")
clients_app = typer.Typer(
    help="A bank's systems that call the API (OAuth2 client credentials).", no_args_is_help=True
)
app.add_typer(clients_app, name="clients")

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


@contextmanager
def app_session(cfg: Settings | None = None) -> Iterator[Session]:
    """One unit of work on the app database of ``cfg`` (default: this invocation's)."""
    from puhui.db import make_engine, unit_of_work

    engine = make_engine((cfg or settings()).app_database_url)
    try:
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()


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
    from puhui.features.service import publish_profiles
    from puhui.ingest.engines import warehouse_reader

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    with (
        console.status(f"发布 publishing profiles as of {day}"),
        warehouse_reader(cfg) as con,
        app_session(cfg) as session,
    ):
        count = publish_profiles(con, session, day)
    console.print(f"已发布 published {count:,} profiles as of {day}")


@model_app.command("fit")
def model_fit(
    data: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GB18030) with the target column.")],
    target: Annotated[str, typer.Option("--target", help="Column holding the outcome.")],
    bad: Annotated[str, typer.Option("--bad", help="The target value that means bad.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the model into.")],
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="A column not to use (repeatable).")
    ] = None,
    seed: Annotated[
        int, typer.Option(min=0, help="Seed of the 70/30 train/test split.")
    ] = 20240601,
    base_points: Annotated[
        float, typer.Option("--base-points", help="Score at the base odds.")
    ] = 600.0,
    odds: Annotated[float, typer.Option("--odds", min=0.0001, help="Base odds good:bad.")] = 50.0,
    pdo: Annotated[
        float, typer.Option("--pdo", min=0.0001, help="Points to double the odds.")
    ] = 40.0,
) -> None:
    """A bank's own scorecard (一行一模型) from any table: binning, selection, points."""
    from puhui.scoring.bank import fit_table
    from puhui.scoring.scorecard import ScorecardParams

    params = ScorecardParams(pdo=pdo, odds=odds, base_points=base_points)
    with console.status(f"训练评分卡 fitting a scorecard on {data.name}"):
        result = fit_table(data, target, bad, out, params, exclude=exclude or (), seed=seed)
    card = result.scorecard
    table = Table(title=f"评分卡 Scorecard: {len(card.variables)} variables")
    for column in ("variable", "type", "IV", "bins", "points"):
        table.add_column(column, justify="left" if column in ("variable", "type") else "right")
    for v in card.variables:
        table.add_row(
            v.name,
            v.dtype,
            f"{v.iv:.3f}",
            str(len(v.bins)),
            f"{v.worst_points:g} … {v.best_points:g}",
        )
    console.print(table)
    metrics = Table(title="效果 Performance")
    for column in ("sample", "rows", "bads", "AUC", "Gini", "KS"):
        metrics.add_column(column, justify="left" if column == "sample" else "right")
    for name, m in (("train", result.train), ("test", result.test)):
        metrics.add_row(
            name, f"{m.n:,}", f"{m.bads:,}", f"{m.auc:.4f}", f"{m.gini:.4f}", f"{m.ks:.4f}"
        )
    console.print(metrics)
    dropped = sum(1 for s in card.selection if not s.selected)
    if dropped:
        console.print(f"未入模 not selected: {dropped} candidate(s); see {out / 'scorecard.json'}")
    for column, reason in result.excluded.items():
        console.print(f"未使用 not used: {column} ({reason})", highlight=False)
    if result.skipped_rows:
        first = ", ".join(str(r) for r in result.skipped_rows[:5])
        more = " …" if len(result.skipped_rows) > 5 else ""
        err_console.print(
            f"[yellow]已跳过 skipped:[/yellow] {len(result.skipped_rows):,} rows with an empty "
            f"{card.target} (data rows {first}{more})",
            highlight=False,
        )
    console.print(f"已保存 saved to {out}")


@model_app.command("apply")
def model_apply(
    model_dir: Annotated[Path, typer.Argument(help="Folder written by puhui model fit.")],
    data: Annotated[Path, typer.Argument(help="CSV to score (the target may be absent).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
) -> None:
    """Score a table with a fitted scorecard: every row, with score, pd and three reasons."""
    from puhui.scoring.bank import apply_table

    with console.status(f"评分 scoring {data.name}"):
        count = apply_table(model_dir, data, out)
    console.print(f"已评分 scored {count:,} rows to {out}")


def _bank_owner(bank: str | None) -> str:
    from puhui.scoring.models import PLATFORM

    return bank or PLATFORM


BankOption = Annotated[
    str | None,
    typer.Option("--bank", help="A bank's own models (一行一模型); default the platform's."),
]


def _metrics_table(title: str) -> Table:
    table = Table(title=title)
    for column in ("model", "kind", "status", "sample", "n", "bads", "AUC", "Gini", "KS"):
        table.add_column(
            column, justify="left" if column in ("kind", "status", "sample") else "right"
        )
    return table


@model_app.command("train")
def model_train(
    as_of: Annotated[str, typer.Option("--as-of", help="Train on loans that started before it.")],
    bank: BankOption = None,
) -> None:
    """Train the scorecard and a LightGBM challenger on loans that started before a date."""
    from puhui.scoring.engines import scoring_reader
    from puhui.scoring.service import model_metrics, train_models

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    cfg.ensure_home()
    with (
        console.status(f"训练 training models as of {day}"),
        scoring_reader(cfg) as con,
        app_session(cfg) as session,
    ):
        result = train_models(con, session, day, models_dir=cfg.models_dir, bank=bank)
        table = _metrics_table(f"已训练 trained on {len(result.training.frame):,} loans")
        for model in result.models:
            for name, m in model_metrics(model).items():
                table.add_row(
                    str(model.id),
                    model.kind,
                    model.status,
                    name,
                    f"{m.n:,}",
                    f"{m.bads:,}",
                    f"{m.auc:.4f}",
                    f"{m.gini:.4f}",
                    f"{m.ks:.4f}",
                )
    console.print(table)


@model_app.command("list")
def model_list(bank: BankOption = None) -> None:
    """Every registered model: owner, kind, status, training date, out-of-time AUC."""
    from puhui.scoring.service import list_models, model_metrics

    table = Table(title="模型 Models")
    for column in ("id", "owner", "kind", "status", "as_of", "samples", "OOT AUC", "fingerprint"):
        table.add_column(
            column, justify="right" if column in ("id", "samples", "OOT AUC") else "left"
        )
    with app_session() as session:
        for model in list_models(session, bank):
            oot = model_metrics(model).get("out_of_time")
            table.add_row(
                str(model.id),
                model.owner,
                model.kind,
                model.status,
                model.as_of.isoformat(),
                f"{model.training_rows:,}",
                f"{oot.auc:.4f}" if oot else "",
                model.fingerprint[:12],
            )
    console.print(table)


@model_app.command("promote")
def model_promote(model_id: Annotated[int, typer.Argument(help="A challenger's id.")]) -> None:
    """Make a challenger its owner's champion (冠军挑战者); the old champion is retired."""
    from puhui.scoring.service import promote

    with app_session() as session:
        model = promote(session, model_id)
        owner = model.owner
    console.print(f"已晋升 model {model_id} is now the champion of {owner}")


@model_app.command("compare")
def model_compare(
    first: Annotated[int, typer.Argument(help="A model id.")],
    second: Annotated[int, typer.Argument(help="Another model id.")],
) -> None:
    """Two models side by side on the out-of-time samples of the first one's training run."""
    from puhui.scoring.metrics import sample_metrics
    from puhui.scoring.service import get_model, load_artefact, load_training, predict

    cfg = settings()
    with app_session(cfg) as session:
        models = [get_model(session, first), get_model(session, second)]
        training = load_training(cfg.models_dir, models[0])
        test = training.test
        table = _metrics_table(
            f"对比 Comparison on {len(test):,} out-of-time loans of model {first}"
        )
        for model in models:
            _, pd_ = predict(load_artefact(model), test)
            m = sample_metrics("out_of_time", test["bad"].to_numpy(), pd_)
            table.add_row(
                str(model.id),
                model.kind,
                model.status,
                m.name,
                f"{m.n:,}",
                f"{m.bads:,}",
                f"{m.auc:.4f}",
                f"{m.gini:.4f}",
                f"{m.ks:.4f}",
            )
    console.print(table)


@model_app.command("report")
def model_report(
    model_id: Annotated[int, typer.Argument(help="A model id.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the report into.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en (both are written).")] = "zh",
) -> None:
    """The validation report (HTML with charts, zh/en): AUC, KS, Gini, calibration,
    binning, out-of-time results and PSI, beside the other model of the training run."""
    from puhui.scoring.policy import load_policy
    from puhui.scoring.report import render_report
    from puhui.scoring.service import build_report, get_model, write_artefacts

    if lang not in ("zh", "en"):
        raise PuhuiError(
            f"--lang 须为 zh 或 en，收到 {lang!r}", f"--lang must be zh or en, got {lang!r}"
        )
    cfg = settings()
    with (
        console.status(f"报告 building the report of model {model_id}"),
        app_session(cfg) as session,
    ):
        report = build_report(
            session, cfg.models_dir, model_id, load_policy(cfg.policy_file).version
        )
        page = render_report(report, out, lang)
        write_artefacts(get_model(session, model_id), out)
    console.print(f"已生成 report written to {page}")


@model_app.command("monitor")
def model_monitor(
    as_of: Annotated[str, typer.Option("--as-of", help="Today's population: features as of.")],
    bank: BankOption = None,
) -> None:
    """PSI of the champion's score and every feature, training population → today's;
    warns when the score or an input of the model is above 0.25."""
    from puhui.scoring.engines import scoring_reader
    from puhui.scoring.metrics import PSI_WARNING, psi_level
    from puhui.scoring.service import monitor

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    with scoring_reader(cfg) as con, app_session(cfg) as session:
        champion, drifts = monitor(con, session, cfg.models_dir, day, _bank_owner(bank))
        champion_id = champion.id
    table = Table(title=f"稳定性 Stability of model {champion_id}: training → {day}")
    for column in ("variable", "in model", "PSI", "level"):
        table.add_column(column, justify="right" if column == "PSI" else "left")
    for drift in drifts:
        used = "✓" if drift.in_model else ""
        table.add_row(drift.name, used, f"{drift.psi:.4f}", psi_level(drift.psi) or "")
    console.print(table)
    warned = [d.name for d in drifts if d.in_model and d.psi > PSI_WARNING]
    if warned:
        err_console.print(
            f"[yellow]警告 warning:[/yellow] PSI above {PSI_WARNING} for {', '.join(warned)}",
            highlight=False,
        )


@model_app.command("evaluate")
def model_evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="A simulator's truth/ folder.")],
    bank: BankOption = None,
) -> None:
    """AUC of the champion (and challengers) on the simulator's hidden future loans,
    beside the AUC of the true default probabilities (the oracle)."""
    from puhui.scoring.engines import scoring_reader
    from puhui.scoring.service import evaluate_on_truth

    cfg = settings()
    with scoring_reader(cfg) as con, app_session(cfg) as session:
        result = evaluate_on_truth(con, session, truth, _bank_owner(bank))
        rows = [(str(m.id), m.kind, m.status, s) for m, s in result.models]
    table = _metrics_table(
        f"隐藏结果 Hidden outcomes: {result.loans:,} loans started after {result.as_of}"
    )
    for model_id, kind, status, m in [*rows, ("", "oracle", "true PD", result.oracle)]:
        table.add_row(
            model_id,
            kind,
            status,
            "future",
            f"{m.n:,}",
            f"{m.bads:,}",
            f"{m.auc:.4f}",
            f"{m.gini:.4f}",
            f"{m.ks:.4f}",
        )
    console.print(table)
    champion = rows[0][3]
    console.print(
        f"冠军与真值 AUC 之差 champion AUC − oracle AUC: {champion.auc - result.oracle.auc:+.4f}"
    )


@score_app.callback(invoke_without_command=True)
def score(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")] = None,
    bank: BankOption = None,
) -> None:
    """Score every business as of a date: score, PD, tier, credit points, limit, rate, reasons."""
    if ctx.invoked_subcommand is not None:
        return
    if as_of is None:
        raise PuhuiError("需要 --as-of YYYY-MM-DD", "--as-of YYYY-MM-DD is required")
    from puhui.scoring.engines import score as score_on_engine
    from puhui.scoring.policy import load_policy

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    policy = load_policy(cfg.policy_file)
    with console.status(f"评分 scoring as of {day}"), app_session(cfg) as session:
        run = score_on_engine(cfg, session, day, policy, _bank_owner(bank))
    shadow = (
        f", challengers {', '.join(map(str, run.challenger_ids))}" if run.challenger_ids else ""
    )
    console.print(
        f"已评分 scored {run.scored:,} businesses as of {day} with model {run.champion_id}"
        f"{shadow}; {run.admitted:,} admitted; policy {run.policy_version}"
    )


@score_app.command("export")
def score_export(
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date YYYY-MM-DD.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    bank: BankOption = None,
) -> None:
    """Write the scores of a date as CSV: uscc,score,pd,tier,credit_points,pre_credit_limit,
    rate,reason_1,reason_2,reason_3 (and each challenger's columns)."""
    from puhui.scoring.engines import scoring_reader
    from puhui.scoring.service import export_scores

    day = parse_date(as_of, "--as-of")
    with scoring_reader(settings()) as con:
        count = export_scores(con, day, out, _bank_owner(bank))
    console.print(f"已导出 exported {count:,} scores to {out}")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option("--username", help="Sign-in name.")],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="enterprise, bank_officer, bank_admin, customer_manager, government or operator.",
        ),
    ],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="PUHUI_USER_PASSWORD",
            show_envvar=False,
            help="Password (else $PUHUI_USER_PASSWORD, else asked: keeps it out of history).",
        ),
    ] = None,
    bank: Annotated[
        str | None, typer.Option("--bank", help="Bank code: bank roles, customer managers.")
    ] = None,
    uscc: Annotated[
        str | None, typer.Option("--uscc", help="The business's USCC: enterprise users.")
    ] = None,
) -> None:
    """Create a user; the password is stored as an argon2id hash."""
    from puhui.accounts.actor import Actor
    from puhui.accounts.service import create_user, require_schema

    if password is None:
        try:
            # No echo to hide when the password is piped in (and getpass would warn).
            password = typer.prompt(
                "密码 Password", hide_input=sys.stdin.isatty(), confirmation_prompt=True
            )
        except typer.Abort:
            raise PuhuiError(
                "需要密码：--password、环境变量 PUHUI_USER_PASSWORD 或在提示时输入",
                "a password is needed: --password, $PUHUI_USER_PASSWORD, or typed when asked",
            ) from None
    with app_session() as session:
        require_schema(session)
        user = create_user(
            session,
            Actor.system(),
            username=username,
            password=str(password),
            role=role,
            bank_code=bank,
            uscc=uscc,
        )
        line = f"已创建用户 user created: {user.username} (id {user.id}, {user.role})"
    console.print(line, highlight=False)


@users_app.command("list")
def users_list(
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
) -> None:
    """Users, a hundred per page."""
    from puhui.accounts.actor import Actor
    from puhui.accounts.service import list_users, require_schema
    from puhui.pagination import MAX_SIZE, PageRequest

    table = Table(title="用户 Users")
    for column in ("id", "username", "role", "bank", "uscc", "active", "created"):
        table.add_column(column, justify="right" if column == "id" else "left")
    with app_session() as session:
        require_schema(session)
        result = list_users(session, Actor.system(), PageRequest(page, MAX_SIZE))
        for user in result.items:
            table.add_row(
                str(user.id),
                user.username,
                user.role,
                user.bank_code or "",
                user.uscc or "",
                "yes" if user.active else "no",
                user.created_at.isoformat(timespec="seconds"),
            )
    console.print(table)
    console.print(f"共 {result.total:,} total, page {result.page}", highlight=False)


@banks_app.command("create")
def banks_create(
    code: Annotated[str, typer.Option("--code", help="Short code, e.g. ZJRCB.")],
    name: Annotated[str, typer.Option("--name", help="Full name.")],
) -> None:
    """Create a bank."""
    from puhui.accounts.actor import Actor
    from puhui.accounts.service import create_bank, require_schema

    with app_session() as session:
        require_schema(session)
        bank = create_bank(session, Actor.system(), code, name)
        line = f"已创建银行 bank created: {bank.code} {bank.name}"
    console.print(line, highlight=False)


@banks_app.command("list")
def banks_list() -> None:
    """Every bank."""
    from puhui.accounts.service import list_banks, require_schema

    table = Table(title="银行 Banks")
    for column in ("code", "name", "created"):
        table.add_column(column)
    with app_session() as session:
        require_schema(session)
        for bank in list_banks(session):
            table.add_row(bank.code, bank.name, bank.created_at.isoformat(timespec="seconds"))
    console.print(table)


@clients_app.command("create")
def clients_create(
    bank: Annotated[str, typer.Option("--bank", help="Code of the bank the system belongs to.")],
    name: Annotated[str, typer.Option("--name", help="What the system is, e.g. loan origination.")],
) -> None:
    """Create an API client for a bank's system; its secret is shown once, here."""
    from puhui.accounts.actor import Actor
    from puhui.accounts.service import create_client, require_schema

    with app_session() as session:
        require_schema(session)
        created = create_client(session, Actor.system(), bank, name)
        client_id, secret = created.client.client_id, created.secret
    console.print(f"client_id:     {client_id}", highlight=False)
    console.print(f"client_secret: {secret}", highlight=False)
    err_console.print(
        "请立即妥善保存密钥，之后无法再次查看 (store the secret now: it is not shown again)"
    )


@clients_app.command("list")
def clients_list(
    bank: Annotated[str | None, typer.Option("--bank", help="Only this bank's.")] = None,
) -> None:
    """API clients (never their secrets)."""
    from puhui.accounts.service import list_clients, require_schema

    table = Table(title="API 客户端 API clients")
    for column in ("client_id", "bank", "name", "active", "created"):
        table.add_column(column)
    with app_session() as session:
        require_schema(session)
        for client in list_clients(session, bank):
            table.add_row(
                client.client_id,
                client.bank_code,
                client.name,
                "yes" if client.active else "no",
                client.created_at.isoformat(timespec="seconds"),
            )
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Processes.")] = 1,
) -> None:
    """Serve the web pages and the /api/v1 API with uvicorn."""
    import os

    import uvicorn

    from puhui.accounts.service import require_schema

    cfg = settings()
    with app_session(cfg) as session:
        require_schema(session)
    # Workers build the app from the environment: hand --home on, and make the session key
    # here once, so that workers do not race to create it.
    os.environ["PUHUI_HOME"] = str(cfg.home.resolve())
    _ = cfg.session_key
    if cfg.cookie_secure:
        err_console.print(
            "提示 note: 会话 Cookie 仅经 HTTPS 发送 (session cookies are Secure: serve behind "
            "HTTPS, or set PUHUI_COOKIE_SECURE=false for plain http on this machine)",
            highlight=False,
        )
    uvicorn.run(
        "puhui.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
    )


market_app = typer.Typer(help="Financing supermarket: match products and businesses.")
app.add_typer(market_app, name="market")
products_app = typer.Typer(help="Banks' loan products.", no_args_is_help=True)
app.add_typer(products_app, name="products")


@market_app.command("refresh")
def market_refresh(
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date of the scores YYYY-MM-DD.")],
    bank: BankOption = None,
) -> None:
    """Make the matching inputs of a date's champion scores current (home/market/), and
    count each published product's eligible businesses.

    Run it after each `puhui score` (it is a separate step)."""
    from puhui.market.service import refresh_matches
    from puhui.scoring.engines import scoring_reader

    day = parse_date(as_of, "--as-of")
    cfg = settings()
    with (
        console.status(f"匹配 matching as of {day}"),
        scoring_reader(cfg) as con,
        app_session(cfg) as session,
    ):
        run = refresh_matches(con, session, day, _bank_owner(bank), directory=cfg.home / "market")
    console.print(
        f"已匹配 matched {run.businesses:,} businesses to {run.products:,} published product(s) "
        f"as of {day}: {run.eligible:,} eligible pairs, {run.near_misses:,} near misses",
        highlight=False,
    )


@products_app.command("create")
def products_create(
    bank: Annotated[str, typer.Option("--bank", help="Code of the bank.")],
    name: Annotated[str, typer.Option("--name", help="Product name.")],
    amount_min: Annotated[str, typer.Option("--amount-min", help="Smallest loan, yuan.")] = "10000",
    amount_max: Annotated[str, typer.Option("--amount-max", help="Largest loan, yuan.")] = "500000",
    term_min: Annotated[int, typer.Option("--term-min", help="Months.")] = 3,
    term_max: Annotated[int, typer.Option("--term-max", help="Months.")] = 36,
    rate_min: Annotated[str, typer.Option("--rate-min", help="Annual %.")] = "3.85",
    rate_max: Annotated[str, typer.Option("--rate-max", help="Annual %.")] = "8.00",
    guarantee: Annotated[
        str, typer.Option("--guarantee", help="credit, guarantee, mortgage or pledge.")
    ] = "credit",
    entity_types: Annotated[
        str, typer.Option("--entity-types", help="Comma list: enterprise,individual,coop.")
    ] = "",
    industries: Annotated[str, typer.Option("--industries", help="Comma list of divisions.")] = "",
    districts: Annotated[str, typer.Option("--districts", help="Comma list of codes.")] = "",
    tiers: Annotated[str, typer.Option("--tiers", help="survival,growth,development.")] = "",
    policy_lists: Annotated[
        str, typer.Option("--policy-lists", help="specialized,high_tech,tech_sme,contract.")
    ] = "",
    min_score: Annotated[float | None, typer.Option("--min-score")] = None,
    min_credit_points: Annotated[int | None, typer.Option("--min-credit-points")] = None,
    max_pd: Annotated[float | None, typer.Option("--max-pd", help="e.g. 0.05.")] = None,
    min_age_years: Annotated[float | None, typer.Option("--min-age-years")] = None,
    allow_dishonest: Annotated[bool, typer.Option("--allow-dishonest")] = False,
    allow_abnormal: Annotated[bool, typer.Option("--allow-abnormal")] = False,
    instant: Annotated[bool, typer.Option("--instant", help="May be approved by machine.")] = False,
    description: Annotated[str, typer.Option("--description")] = "",
    popularity: Annotated[int, typer.Option("--popularity", min=0)] = 0,
    draft: Annotated[bool, typer.Option("--draft", help="Leave it unpublished.")] = False,
) -> None:
    """Create a product as the operator (for demos and set-up); published unless --draft."""
    from pydantic import ValidationError

    from puhui.accounts.actor import Actor
    from puhui.market import service
    from puhui.market.schemas import ProductIn

    def items(value: str) -> list[str]:
        return [part.strip() for part in value.split(",") if part.strip()]

    try:
        data = ProductIn.model_validate(
            {
                "bank": bank,
                "name": name,
                "description": description,
                "amount_min": amount_min,
                "amount_max": amount_max,
                "term_min": term_min,
                "term_max": term_max,
                "rate_min": rate_min,
                "rate_max": rate_max,
                "guarantee": guarantee,
                "entity_types": items(entity_types),
                "industries": items(industries),
                "districts": items(districts),
                "tiers": items(tiers),
                "policy_lists": items(policy_lists),
                "min_score": min_score,
                "min_credit_points": min_credit_points,
                "max_pd": max_pd,
                "min_age_years": min_age_years,
                "exclude_dishonest": not allow_dishonest,
                "exclude_abnormal": not allow_abnormal,
                "instant": instant,
            }
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "product"
        raise PuhuiError(
            f"产品无效：{where}", f"invalid product: {where}: {first['msg']}"
        ) from None
    actor = Actor.system()
    with app_session() as session:
        service.require_schema(session)
        product = service.create_product(session, actor, data)
        if popularity:
            service.set_popularity(session, actor, product.id, popularity)
        if not draft:
            service.publish_product(session, actor, product.id)
        line = f"已创建产品 product created: {product.id} {product.name} ({product.status})"
    console.print(line, highlight=False)


@products_app.command("list")
def products_list(
    bank: Annotated[str | None, typer.Option("--bank", help="Only this bank's products.")] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100, help="At most one page (100).")
    ] = 100,
) -> None:
    """Products of every status, as the operator sees them: id, bank, status, name."""
    from puhui.accounts.actor import Actor
    from puhui.market import service
    from puhui.market.schemas import ProductFilters
    from puhui.pagination import PageRequest

    with app_session() as session:
        service.require_schema(session)
        found = service.list_products(
            session,
            Actor.system(),
            ProductFilters(bank=bank),
            page=PageRequest(page=1, size=limit),
        )
        lines = [
            f"{product.id:>6} {product.bank_code:<10} {product.status:<10} {product.name}"
            for product in found.items
        ]
    for line in lines:
        console.print(line, highlight=False)
    console.print(f"共 {found.total} 个产品 {found.total} product(s)", highlight=False)


notices_app = typer.Typer(
    help="Notices: the outbox of SMS, email and in-app messages.", no_args_is_help=True
)
app.add_typer(notices_app, name="notices")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, max=3600, help="Seconds between passes.")
    ] = 5.0,
    batch: Annotated[
        int, typer.Option("--batch", min=1, max=10_000, help="Notices sent per pass at most.")
    ] = 100,
) -> None:
    """Deliver queued notices (SMS, email, in-app) with retries and back-off until stopped
    (SIGINT / SIGTERM: the notice in hand is finished first). See docs/notices.md."""
    import signal
    import threading
    from types import FrameType

    from puhui.db import make_engine, session_factory
    from puhui.notices.senders import describe_senders, senders_from_settings
    from puhui.notices.worker import Backoff, DeliveryReport, require_schema, run_worker

    cfg = settings()
    senders = senders_from_settings(cfg)
    with app_session(cfg) as session:
        require_schema(session)
    backoff = Backoff(cfg.notice_backoff_seconds, cfg.notice_backoff_max_seconds)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: stop now
            raise KeyboardInterrupt
        stop.set()
        err_console.print("正在停止 stopping after the notice in hand…", highlight=False)

    def on_pass(report: DeliveryReport) -> None:
        if once or report.attempted or report.inapp:
            console.print(f"投递 delivery: {report.summary()}", highlight=False)

    engine = make_engine(cfg.app_database_url)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if not once:
            console.print(
                f"通知投递已启动 worker started ({describe_senders(senders)}; every "
                f"{interval:g}s, batch {batch}); Ctrl-C stops it",
                highlight=False,
            )
        totals = run_worker(
            session_factory(engine),
            senders,
            stop=stop,
            once=once,
            interval=interval,
            batch=batch,
            max_attempts=cfg.notice_max_attempts,
            backoff=backoff,
            on_pass=on_pass,
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()
    if not once:
        console.print(f"已停止 worker stopped: {totals.summary()}", highlight=False)


@notices_app.command("list")
def notices_list(
    status: Annotated[str | None, typer.Option("--status", help="pending, sent or dead.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="sms, email or inapp.")] = None,
    page: Annotated[int, typer.Option("--page", min=1, help="Page number.")] = 1,
) -> None:
    """Notices, newest first, a hundred per page; addresses masked."""
    from puhui.accounts.actor import Actor
    from puhui.notices.senders import mask_address
    from puhui.notices.service import count_by_status, list_notices
    from puhui.notices.worker import require_schema
    from puhui.pagination import MAX_SIZE, PageRequest

    table = Table(title="通知 Notices")
    for column in ("id", "created", "channel", "kind", "to", "status", "attempts", "next / sent"):
        table.add_column(column, justify="right" if column in ("id", "attempts") else "left")
    errors: list[tuple[int, str]] = []
    with app_session() as session:
        require_schema(session)
        actor = Actor.system()
        result = list_notices(
            session, actor, PageRequest(page, MAX_SIZE), status=status, channel=channel
        )
        counts = count_by_status(session, actor)
        for n in result.items:
            when = n.sent_at if n.status == "sent" else n.next_attempt_at
            table.add_row(
                str(n.id),
                n.created_at.isoformat(sep=" ", timespec="seconds"),
                n.channel,
                n.kind,
                mask_address(n.channel, n.address) or (f"user {n.user_id}" if n.user_id else ""),
                n.status,
                str(n.attempts),
                when.isoformat(sep=" ", timespec="seconds") if when and n.status != "dead" else "",
            )
            if n.last_error and n.status != "sent":
                errors.append((n.id, n.last_error))
    console.print(table)
    for notice_id, reason in errors:
        console.print(f"  {notice_id}: {reason}", highlight=False)
    console.print(
        f"共 {result.total:,} total, page {result.page}; all notices: "
        + ", ".join(f"{name} {count:,}" for name, count in counts.items()),
        highlight=False,
    )


@notices_app.command("retry")
def notices_retry(
    notice_id: Annotated[int | None, typer.Argument(help="A dead notice's id.")] = None,
    all_dead: Annotated[
        bool, typer.Option("--all", help="Every dead notice (after a sender was down).")
    ] = False,
) -> None:
    """Send a dead notice again: back to pending, due now, with a new round of attempts."""
    from puhui.accounts.actor import Actor
    from puhui.notices.service import retry_dead, retry_notice
    from puhui.notices.worker import require_schema

    if (notice_id is None) == (not all_dead):
        raise PuhuiError(
            "请给出一个通知编号，或使用 --all（二者选一）",
            "give one notice id, or --all (one of the two)",
        )
    with app_session() as session:
        require_schema(session)
        if notice_id is not None:
            notice = retry_notice(session, Actor.system(), notice_id)
            line = f"已重新排队 queued again: notice {notice.id} ({notice.channel}, {notice.kind})"
        else:
            count = retry_dead(session, Actor.system())
            line = f"已重新排队 queued again: {count:,} dead notice(s)"
    console.print(line, highlight=False)


applications_app = typer.Typer(
    help="Loan applications: the open pool, stages and their SLAs.", no_args_is_help=True
)
app.add_typer(applications_app, name="applications")


@applications_app.command("expire")
def applications_expire() -> None:
    """Expire every application whose stage deadline (SLA) has passed (run it hourly)."""
    from puhui.applications.service import expire_overdue

    with app_session() as session:
        expired = [(a.number, a.status) for a in expire_overdue(session)]
    for number, _status in expired:
        console.print(f"  {number}", highlight=False)
    console.print(f"已过期 expired: {len(expired):,} application(s)", highlight=False)


@applications_app.command("list")
def applications_list(
    status: Annotated[
        str | None, typer.Option("--status", help="Only this stage, e.g. submitted.")
    ] = None,
    pool: Annotated[bool, typer.Option("--pool", help="Only the open pool.")] = False,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
) -> None:
    """Applications, newest first, a hundred per page (the operator's view)."""
    from puhui.accounts.actor import Actor
    from puhui.applications.service import list_applications, mask_phone
    from puhui.pagination import MAX_SIZE, PageRequest

    actor = Actor.system()
    table = Table(title="贷款申请 Applications")
    for column in ("id", "number", "status", "bank", "uscc", "amount", "term", "phone", "due"):
        table.add_column(column, justify="right" if column in ("id", "amount", "term") else "left")
    with app_session() as session:
        result = list_applications(
            session, actor, PageRequest(page, MAX_SIZE), status=status, pool=True if pool else None
        )
        for item in result.items:
            table.add_row(
                str(item.id),
                item.number,
                item.status,
                item.bank_code or "(pool)",
                item.uscc,
                f"{item.amount:,.2f}",
                str(item.term_months),
                mask_phone(item.contact_phone),
                item.stage_due_at.isoformat(timespec="minutes") if item.stage_due_at else "",
            )
    console.print(table)
    console.print(f"共 {result.total:,} total, page {result.page}", highlight=False)


def _mount_domain_apps() -> None:
    """Sub-command groups that live in their domain's own ``cli`` module."""
    from puhui.decisions.cli import decision_app
    from puhui.govlists.cli import govlists_app
    from puhui.service_report.cli import report_app

    app.add_typer(govlists_app, name="govlists")
    app.add_typer(report_app, name="report")
    app.add_typer(decision_app, name="decision")


_mount_domain_apps()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the app database to the latest schema and seed reference tables."""
    from puhui.db import upgrade
    from puhui.reference.service import seed_reference_tables

    cfg = settings()
    cfg.ensure_home()
    upgrade(cfg.app_database_url)
    with app_session(cfg) as session:
        counts = seed_reference_tables(session)
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


audit_app = typer.Typer(
    help="The audit log and the consent ledger (hash chains).", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute every hash of the audit log and the consent ledger and check the consents
    against the ledger; exit 1 at the first break of any (docs/consent.md). Audit rows that
    still wait to be chained (written by web requests moments ago) are chained first."""
    from puhui.accounts.service import require_schema
    from puhui.audit import chain_waiting_rows, verify_chains

    with console.status("校验哈希链 verifying hash chains"):
        with app_session() as session:
            require_schema(session)
            chain_waiting_rows(session)
        with app_session() as session:
            report = verify_chains(session)
    for intact, line in report.lines():
        (console if intact else err_console).print(
            ("[green]✓[/green] " if intact else "[red]✗[/red] ") + line, highlight=False
        )
    if not report.ok:
        sys.exit(1)


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
