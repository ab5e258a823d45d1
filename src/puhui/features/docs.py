"""docs/features.md, rendered from the registry (``python -m puhui.features.docs``)."""

from __future__ import annotations

from puhui.features.registry import ALL_BLOCKS

HEADER = """# Entity features

Generated from `src/puhui/features/registry.py` by `python -m puhui.features.docs`; do not
edit by hand (a test checks that this file matches the registry).

`puhui features --as-of YYYY-MM-DD` computes one row per business registered before the
as-of date. Every source row is filtered to what was dated **before** the as-of date; monthly
feeds count the months before the as-of month (the as-of month is not yet reported). A count
with no rows is 0; an average, ratio or grade with no data is empty (NULL), because "no
data" is not "zero". Records of utilities, penalties, court and property count for the
business they are linked to (`puhui link`).

Values that the contract delivers without a date are taken as they are on delivery:
registered capital, industry, a property's mortgage flag. A loan's `max_dpd` is not used,
because it is measured at delivery and may include days after the as-of date.
"""


def render_markdown() -> str:
    lines = [HEADER]
    total = 0
    for block in ALL_BLOCKS:
        lines.append(f"\n## {block.name} ({', '.join(block.sources)}; profile: {block.section})\n")
        lines.append("| feature | 说明 | description | kind | window | empty |")
        lines.append("|---|---|---|---|---|---|")
        for f in block.features:
            empty = f.fill if f.fill != "NULL" else "NULL"
            lines.append(f"| `{f.name}` | {f.zh} | {f.en} | {f.kind} | {f.window} | {empty} |")
            total += 1
    lines.append(f"\n{total} features.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
