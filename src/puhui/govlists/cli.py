"""``puhui govlists``: import a list from a file, define one by a filter, push it to banks.

The commands act as the platform (an operator); each is one transaction. Mounted on the
main app by :mod:`puhui.cli`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

govlists_app = typer.Typer(
    help="Government lists (精准推送): import, define, push to banks.", no_args_is_help=True
)

#: Bad rows printed at most; the rest are counted.
SHOWN_PROBLEMS = 50


def _items(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.replace("，", ",").split(",") if part.strip())


@govlists_app.command("import")
def import_list(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(help="CSV or XLSX with a uscc (统一社会信用代码) column.")
    ],
    code: Annotated[str, typer.Option("--code", help="The list's code (created if new).")],
    name: Annotated[str, typer.Option("--name", help="The list's name.")],
    kind: Annotated[
        str, typer.Option("--kind", help="tech, srdi, first_loan, key_support or other.")
    ],
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """Create a list (or add to one of the same code, name and kind) from a file.

    Good rows are added; every bad row is printed with its row number and reason."""
    from puhui.accounts.actor import Actor
    from puhui.errors import PuhuiError
    from puhui.govlists import service
    from puhui.govlists.clihelp import app_session, console, err_console, settings_of
    from puhui.govlists.upload import parse_members

    if not file.is_file():
        raise PuhuiError(f"找不到文件 {file}", f"no file {file}")
    parsed = parse_members(file.name, file.read_bytes())  # a bad file stops before anything
    actor = Actor.system()
    with app_session(settings_of(ctx)) as session:
        service.require_schema(session)
        try:
            found = service.get_list(session, actor, code)
        except service.GovListNotFoundError:
            found = service.create_list(session, actor, code, name, kind, description)
        if (found.name, found.kind) != (name.strip(), kind):
            raise service.GovListConflictError(
                f"名单 {code} 已存在，名称或类型不同（{found.name}，{found.kind}）",
                f"list {code} exists with another name or kind ({found.name}, {found.kind})",
            )
        result = service.add_parsed(session, actor, code, parsed, file.name)
    for problem in result.problems[:SHOWN_PROBLEMS]:
        err_console.print(
            f"第 {problem.row} 行 row {problem.row}: {problem.value!r}: "
            f"{problem.zh} ({problem.en})",
            highlight=False,
        )
    if len(result.problems) > SHOWN_PROBLEMS:
        more = len(result.problems) - SHOWN_PROBLEMS
        err_console.print(f"另有 {more} 行 and {more} more rows refused", highlight=False)
    console.print(
        f"名单 list {code}: 读取 read {result.rows:,} rows, 新增 added {result.added:,}, "
        f"已在名单 already {result.already:,}, 拒绝 refused {len(result.problems):,}",
        highlight=False,
    )


@govlists_app.command("define")
def define_list(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The list's code (it must exist).")],
    industries: Annotated[
        str, typer.Option("--industries", help="Comma list of GB/T 4754 divisions.")
    ] = "",
    districts: Annotated[str, typer.Option("--districts", help="Comma list of codes.")] = "",
    entity_types: Annotated[
        str, typer.Option("--entity-types", help="enterprise,individual,coop.")
    ] = "",
    tiers: Annotated[str, typer.Option("--tiers", help="survival,growth,development.")] = "",
) -> None:
    """Add every business whose published profile matches the filter (tiers: the latest
    champion scores in the warehouse)."""
    from puhui.accounts.actor import Actor
    from puhui.govlists import service
    from puhui.govlists.clihelp import app_session, console, settings_of
    from puhui.govlists.warehouse import lookup_on

    criteria = service.Criteria(
        industries=_items(industries),
        districts=_items(districts),
        entity_types=_items(entity_types),
        tiers=_items(tiers),
    )
    actor = Actor.system()
    cfg = settings_of(ctx)
    with app_session(cfg) as session:
        service.require_schema(session)
        if criteria.tiers:
            from puhui.scoring.engines import scoring_reader

            with scoring_reader(cfg) as con:
                done = service.define_members(session, actor, code, criteria, lookup_on(con))
        else:
            done = service.define_members(session, actor, code, criteria)
    console.print(
        f"名单 list {code}: 筛选出 found {done.matched:,}, 新增 added {done.added:,}, "
        f"已在名单 already {done.already:,}",
        highlight=False,
    )


@govlists_app.command("push")
def push_list(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The list's code.")],
    bank: Annotated[
        list[str], typer.Option("--bank", help="A bank's code (repeat, or comma list).")
    ],
) -> None:
    """Push a list to banks: they see it, and it counts in their matching from the next
    `puhui market refresh`."""
    from puhui.accounts.actor import Actor
    from puhui.govlists import service
    from puhui.govlists.clihelp import app_session, console, settings_of

    banks = [code_ for value in bank for code_ in _items(value)]
    with app_session(settings_of(ctx)) as session:
        service.require_schema(session)
        done = service.push_list(session, Actor.system(), code, banks)
        names = ", ".join(p.bank_code for p in done)
    console.print(f"已推送 pushed {code} to {names}", highlight=False)


@govlists_app.command("list")
def list_lists(ctx: typer.Context) -> None:
    """Every list with its kind, status, members and banks."""
    from rich.table import Table

    from puhui.accounts.actor import Actor
    from puhui.govlists import service
    from puhui.govlists.clihelp import app_session, console, settings_of
    from puhui.pagination import PageRequest

    actor = Actor.system()
    table = Table("code", "name", "kind", "status", "members", "banks")
    with app_session(settings_of(ctx)) as session:
        service.require_schema(session)
        number = 1
        while True:
            page = service.list_lists(session, actor, PageRequest(page=number, size=100))
            ids = [f.id for f in page.items]
            counts = service.member_counts(session, ids)
            banks = service.pushed_banks(session, actor, ids)
            for f in page.items:
                table.add_row(
                    f.code,
                    f.name,
                    f.kind,
                    f.status,
                    f"{counts.get(f.id, 0):,}",
                    ", ".join(banks.get(f.id, [])),
                )
            if number * page.size >= page.total:
                break
            number += 1
    console.print(table)
