"""The service report as an Excel workbook (openpyxl): one sheet per table, Chinese headers,
real numbers with number formats (counts ``#,##0``, yuan ``#,##0.00``, hours ``0.0``, shares
``0.0%``), so that a reader can sort and sum them.

Sheets: 排名 (the banks ranked by service time, with every indicator), 办理时长 (median and
90th percentile per bank and stage), 超时情况 (SLA deadlines and breaches per bank and
stage), 区域中位数 (the region's median over the banks), 说明 (period and definitions).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from puhui.service_report.service import (
    REGION_INDICATORS,
    STAGE_TIMES,
    Report,
)

COUNT, MONEY, HOURS, SHARE, TEXT = "#,##0", "#,##0.00", "0.0", "0.0%", "@"
HEADER_FILL = PatternFill("solid", fgColor="F3E5E4")

#: Stage codes of SLA rows, in Chinese.
STAGE_ZH = {
    "submitted": "待受理",
    "accepted": "已受理待审查",
    "under_review": "审查中",
    "contract_signed": "已签约待放款",
}
#: Region indicators, in Chinese, with their number format.
INDICATORS_ZH: dict[str, tuple[str, str]] = {
    "received": ("受理申请数", COUNT),
    "approval_rate": ("审批通过率", SHARE),
    "breach_rate": ("超时率", SHARE),
    "first_loan_share": ("首贷占比", SHARE),
    "credit_loan_share": ("信用贷款占比", SHARE),
    **{
        f"{code}_{part}": (f"{zh}时长{label}（小时）", HOURS)
        for code, zh, _en in STAGE_TIMES
        for part, label in (("median", "中位数"), ("p90", "90分位"))
    },
}


def _sheet(
    book: Workbook, title: str, columns: list[tuple[str, str, int]], rows: list[list[Any]]
) -> None:
    """One sheet: a header row (bold, filled, frozen) and ``rows`` with each column's
    number format and width."""
    sheet = book.create_sheet(title)
    sheet.append([name for name, _fmt, _width in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append(row)
    for index, (_name, fmt, width) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        for cell in sheet[letter][1:]:
            cell.number_format = fmt
    sheet.freeze_panes = "A2"


def workbook(report: Report) -> bytes:
    """The report as ``.xlsx`` bytes."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    stage_columns: list[tuple[str, str, int]] = []
    for _code, zh, _en in STAGE_TIMES:
        stage_columns += [
            (f"{zh}时长中位数（小时）", HOURS, 14),
            (f"{zh}时长90分位（小时）", HOURS, 14),
        ]
    _sheet(
        book,
        "排名",
        [
            ("排名", COUNT, 8),
            ("银行代码", TEXT, 12),
            ("银行名称", TEXT, 22),
            ("受理申请数", COUNT, 12),
            ("已受理", COUNT, 10),
            ("已审批", COUNT, 10),
            ("审批通过", COUNT, 10),
            ("未获批准", COUNT, 10),
            ("审批通过率", SHARE, 12),
            ("放款笔数", COUNT, 10),
            ("放款金额（元）", MONEY, 18),
            *stage_columns,
            ("时限考核次数", COUNT, 12),
            ("超时次数", COUNT, 10),
            ("超时率", SHARE, 10),
            ("首贷笔数", COUNT, 10),
            ("首贷占比", SHARE, 10),
            ("信用贷款笔数", COUNT, 12),
            ("信用贷款占比", SHARE, 12),
        ],
        [
            [
                f.rank,
                f.bank_code,
                f.bank_name,
                f.received,
                f.accepted,
                f.decided,
                f.approved,
                f.declined,
                f.approval_rate,
                f.disbursed,
                f.disbursed_amount,
                *[
                    value
                    for code, _zh, _en in STAGE_TIMES
                    for value in (f.stages[code].median_hours, f.stages[code].p90_hours)
                ],
                f.sla_checked,
                f.sla_breaches,
                f.breach_rate,
                f.first_loans,
                f.first_loan_share,
                f.credit_loans,
                f.credit_loan_share,
            ]
            for f in report.banks
        ],
    )
    _sheet(
        book,
        "办理时长",
        [
            ("银行代码", TEXT, 12),
            ("银行名称", TEXT, 22),
            ("环节", TEXT, 16),
            ("笔数", COUNT, 8),
            ("中位数（小时）", HOURS, 14),
            ("90分位（小时）", HOURS, 14),
        ],
        [
            [
                f.bank_code,
                f.bank_name,
                zh,
                f.stages[code].count,
                f.stages[code].median_hours,
                f.stages[code].p90_hours,
            ]
            for f in report.banks
            for code, zh, _en in STAGE_TIMES
        ],
    )
    _sheet(
        book,
        "超时情况",
        [
            ("银行代码", TEXT, 12),
            ("环节", TEXT, 16),
            ("时限考核次数", COUNT, 12),
            ("超时次数", COUNT, 10),
            ("超时率", SHARE, 10),
        ],
        [
            [row.bank_code, STAGE_ZH.get(row.stage, row.stage), row.checked, row.breached, row.rate]
            for row in report.breaches
        ],
    )
    region_rows = []
    for name in REGION_INDICATORS:
        zh, fmt = INDICATORS_ZH[name]
        region_rows.append([zh, report.region.get(name), fmt])
    _sheet(
        book,
        "区域中位数",
        [("指标", TEXT, 28), ("各银行中位数", HOURS, 16)],
        [r[:2] for r in region_rows],
    )
    sheet = book["区域中位数"]
    for index, row in enumerate(region_rows, start=2):
        sheet.cell(row=index, column=2).number_format = row[2]
    _sheet(
        book,
        "说明",
        [("项目", TEXT, 16), ("内容", TEXT, 90)],
        [
            [
                "统计期间",
                f"{report.start.isoformat()} 至 {report.end.isoformat()}（按申请提交日期）",
            ],
            ["生成时间（UTC）", report.generated_at.strftime("%Y-%m-%d %H:%M")],
            ["参与排名银行数", str(report.ranked_banks)],
            ["排名依据", "提交至审批（通过或未获批准）时长中位数，越短越前；相同时比90分位"],
            ["受理时长", "提交至受理"],
            ["审批时长", "受理至审批通过或未获批准（含审查）"],
            ["放款时长", "签约至放款（银行环节，不含企业签约等待）"],
            ["超时", "银行须办理的环节（待受理、待审查、审查中、待放款）超过时限或因超时过期"],
            [
                "首贷",
                "该企业在平台上的第一笔放款"
                + ("，且数仓贷款记录中此前无贷款" if report.first_loan_basis != "platform" else ""),
            ],
            ["信用贷款", "产品担保方式为信用；无产品的抢单申请不计为信用贷款"],
            ["区域中位数", "各银行该指标的中位数，不列示其他银行名称"],
        ],
    )
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
