"""The model validation report: one self-contained HTML page per language, and its numbers
as JSON.

The caller (the model registry, ``puhui model report ID --out DIR``) fills a
:class:`ValidationReport` with what the model knows (its binning, IV, variable selection,
feature PSI) and the scored samples; every metric of a sample (AUC, Gini, KS, Brier,
calibration, ROC and KS curves, score distribution) is computed here with
:mod:`puhui.scoring.metrics`. :func:`render_report` writes into ``out_dir``:

``index.html``     the report in Chinese
``index.en.html``  the same report in English (each page links to the other)
``report.json``    the numbers of the report, machine-readable (NaN written as null)

Each page is one file that works offline: the plotly.js bundle of the installed plotly
package is inlined once, the charts are drawn from JSON in the page, there is no CDN, no
external font or stylesheet. All labels come from :data:`LABELS`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from puhui.errors import PuhuiError
from puhui.scoring.metrics import (
    PSI_WARNING,
    PSI_WATCH,
    CalibrationBin,
    PsiBucket,
    SampleMetrics,
    calibration_by_decile,
    ks_curve_points,
    psi_level,
    roc_curve_points,
    sample_metrics,
)

LANGS = ("zh", "en")
#: The page of each language, inside ``out_dir``.
PAGES = {"zh": "index.html", "en": "index.en.html"}
TEMPLATES = Path(__file__).parent / "templates"


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class BinRow:
    """One bin of a variable: its label (``"[0, 3)"``, ``"missing"``, ``"A, B"`` …), count,
    events (bads), event rate, WOE, the bin's IV term, and its scorecard points (None for a
    variable not in the scorecard)."""

    label: str
    count: int
    event_count: int
    event_rate: float
    woe: float
    iv: float
    points: float | None


@dataclass(frozen=True)
class VariableReport:
    """A candidate variable: its name and descriptions (from the feature registry), IV,
    whether the model selected it and, if not, why (``"IV below 0.02"``, ``"correlated
    with X"``, ``"unstable (PSI 0.31)"``), its bins, and its PSI (None if not computed).

    ``reason_dropped`` is shown on both pages unless ``reason_dropped_zh`` gives the
    Chinese text for the Chinese page. ``psi_table`` (from
    :func:`puhui.scoring.metrics.psi_table`) adds the shares behind ``psi``.
    """

    name: str
    zh: str
    en: str
    iv: float
    selected: bool
    reason_dropped: str | None
    bins: tuple[BinRow, ...]
    psi: float | None
    reason_dropped_zh: str | None = None
    psi_table: tuple[PsiBucket, ...] = ()


@dataclass(frozen=True, eq=False)
class ScoredSample:
    """One sample scored by a model: ``name`` (``"train"``, ``"test"``, ``"out_of_time"``
    …), the outcome ``y`` (1 bad, 0 good), the predicted probability of bad ``pd`` and the
    score (points, higher is safer; None for a model without one). Compared by identity:
    it holds arrays."""

    name: str
    y: np.ndarray
    pd: np.ndarray
    score: np.ndarray | None


@dataclass(frozen=True)
class ModelSection:
    """A model of the report: ``kind`` is ``"scorecard"`` or ``"lightgbm"``."""

    model_id: str
    kind: str
    status: str
    owner: str
    samples: tuple[ScoredSample, ...]


@dataclass(frozen=True)
class ValidationReport:
    """Everything the report shows. ``score_psi`` is the PSI of the champion's score
    between the two populations named in ``psi_populations`` (expected, actual: sample
    names or ``"current"``), the same populations as the variables' PSI;
    ``score_psi_table`` optionally gives its buckets."""

    title: str
    created_at: str
    as_of: str
    training_fingerprint: str
    policy_version: str | None
    champion: ModelSection
    challenger: ModelSection | None
    variables: tuple[VariableReport, ...]
    score_psi: float | None
    notes: tuple[str, ...]
    score_psi_table: tuple[PsiBucket, ...] = ()
    psi_populations: tuple[str, str] = ("train", "out_of_time")


# --------------------------------------------------------------------------- labels

#: Every label of the page, in both languages (same keys).
LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "report": "模型验证报告",
        "switch": "English",
        "current_lang": "中文",
        "champion": "冠军模型",
        "challenger": "挑战者模型",
        "model_id": "模型编号",
        "kind": "模型类型",
        "owner": "负责人",
        "status": "状态",
        "as_of": "数据截止日",
        "created_at": "生成时间",
        "fingerprint": "训练数据指纹",
        "policy_version": "策略版本",
        "none": "无",
        "summary": "摘要",
        "no_warnings": "未发现稳定性预警。",
        "metrics": "区分能力与校准指标",
        "sample": "样本",
        "model": "模型",
        "n": "样本量",
        "bads": "坏样本数",
        "bad_rate": "坏样本率",
        "auc": "AUC",
        "gini": "Gini",
        "ks": "KS",
        "brier": "Brier 分数",
        "metrics_note": "AUC、Gini、KS 越高区分能力越强；Brier 分数越低越好。"
        "样本中只有好或只有坏时，排序指标记为“—”。",
        "roc": "ROC 曲线",
        "fpr": "误拒率（好客户被判为坏的比例）",
        "tpr": "命中率（坏客户被判为坏的比例）",
        "random": "随机",
        "ks_chart": "KS 曲线",
        "population_share": "按风险从高到低累计的样本占比",
        "cum_share": "累计占比",
        "cum_bads": "坏客户",
        "cum_goods": "好客户",
        "calibration": "分十等份校准",
        "calibration_note": "按预测违约概率（PD）分为十等份，比较预测坏账率与实际坏账率。",
        "decile": "十分位",
        "predicted": "预测坏账率",
        "observed": "实际坏账率",
        "count": "数量",
        "distribution": "好坏客户评分分布",
        "score": "评分",
        "pd": "预测违约概率（PD）",
        "share": "占比",
        "goods": "好客户",
        "bads_short": "坏客户",
        "variables": "变量筛选与信息值（IV）",
        "variable": "变量",
        "description": "说明",
        "iv": "IV",
        "selected": "入模",
        "yes": "是",
        "no": "否",
        "reason_dropped": "未入模原因",
        "psi": "PSI",
        "binning": "入模变量分箱",
        "bin": "分箱",
        "events": "坏样本数",
        "event_rate": "坏样本率",
        "woe": "WOE",
        "points": "分值",
        "stability": "稳定性（PSI）",
        "stability_note": "PSI 比较两个客群的分布：高于 {watch} 需关注，高于 {warning} 预警，"
        "应复核模型。",
        "populations": "比较客群：基准为{expected}，对比为{actual}。",
        "score_psi": "评分 PSI",
        "feature_psi": "变量 PSI",
        "expected": "基准",
        "actual": "对比",
        "psi_buckets": "PSI 分箱明细",
        "ok": "稳定",
        "watch": "关注",
        "warning": "预警",
        "warn_score": "评分 PSI 为 {value}，高于预警线 {limit}。",
        "warn_feature": "变量 {name}（{desc}）PSI 为 {value}，高于预警线 {limit}。",
        "watch_count": "{count} 个变量 PSI 高于关注线 {limit}。",
        "notes": "备注",
        "missing": "缺失",
        "footer": "由普惠平台生成",
        "no_data": "无数据",
    },
    "en": {
        "report": "Model validation report",
        "switch": "中文",
        "current_lang": "English",
        "champion": "Champion",
        "challenger": "Challenger",
        "model_id": "Model ID",
        "kind": "Kind",
        "owner": "Owner",
        "status": "Status",
        "as_of": "As of",
        "created_at": "Created at",
        "fingerprint": "Training data fingerprint",
        "policy_version": "Policy version",
        "none": "none",
        "summary": "Summary",
        "no_warnings": "No stability warning.",
        "metrics": "Discrimination and calibration",
        "sample": "Sample",
        "model": "Model",
        "n": "N",
        "bads": "Bads",
        "bad_rate": "Bad rate",
        "auc": "AUC",
        "gini": "Gini",
        "ks": "KS",
        "brier": "Brier score",
        "metrics_note": "Higher AUC, Gini and KS discriminate better; a lower Brier score is "
        "better. A rank metric of a sample with only goods or only bads is shown as “—”.",
        "roc": "ROC curves",
        "fpr": "False positive rate (goods called bad)",
        "tpr": "True positive rate (bads called bad)",
        "random": "random",
        "ks_chart": "KS curves",
        "population_share": "Share of the sample, riskiest first",
        "cum_share": "Cumulative share",
        "cum_bads": "bads",
        "cum_goods": "goods",
        "calibration": "Calibration by decile",
        "calibration_note": "Deciles of the predicted probability of bad (PD): predicted "
        "against observed bad rate.",
        "decile": "Decile",
        "predicted": "Predicted bad rate",
        "observed": "Observed bad rate",
        "count": "Count",
        "distribution": "Score distribution of goods and bads",
        "score": "Score",
        "pd": "Predicted probability of bad (PD)",
        "share": "Share",
        "goods": "Goods",
        "bads_short": "Bads",
        "variables": "Variable selection and information value (IV)",
        "variable": "Variable",
        "description": "Description",
        "iv": "IV",
        "selected": "Selected",
        "yes": "yes",
        "no": "no",
        "reason_dropped": "Reason dropped",
        "psi": "PSI",
        "binning": "Binning of the selected variables",
        "bin": "Bin",
        "events": "Bads",
        "event_rate": "Bad rate",
        "woe": "WOE",
        "points": "Points",
        "stability": "Stability (PSI)",
        "stability_note": "PSI compares the distribution of two populations: above {watch} "
        "watch it, above {warning} it is a warning and the model should be reviewed.",
        "populations": "Populations compared: expected = {expected}, actual = {actual}.",
        "score_psi": "Score PSI",
        "feature_psi": "Variable PSI",
        "expected": "Expected",
        "actual": "Actual",
        "psi_buckets": "PSI buckets",
        "ok": "stable",
        "watch": "watch",
        "warning": "warning",
        "warn_score": "The score PSI is {value}, above the warning level {limit}.",
        "warn_feature": "Variable {name} ({desc}) has PSI {value}, above the warning level "
        "{limit}.",
        "watch_count": "{count} variable(s) have PSI above the watch level {limit}.",
        "notes": "Notes",
        "missing": "missing",
        "footer": "Generated by Puhui",
        "no_data": "no data",
    },
}

#: Names of samples, model kinds and statuses; anything else is shown as it is.
NAMES: dict[str, dict[str, str]] = {
    "zh": {
        "train": "训练样本",
        "test": "测试样本",
        "validation": "验证样本",
        "out_of_time": "跨时间样本",
        "current": "当前客群",
        "scorecard": "评分卡",
        "lightgbm": "LightGBM",
        "draft": "草稿",
        "candidate": "候选",
        "validated": "已验证",
        "approved": "已批准",
        "champion": "冠军",
        "challenger": "挑战者",
        "retired": "已退役",
        "rejected": "已否决",
    },
    "en": {
        "train": "train",
        "test": "test",
        "validation": "validation",
        "out_of_time": "out of time",
        "current": "current population",
        "scorecard": "scorecard",
        "lightgbm": "LightGBM",
    },
}


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise PuhuiError(
            f"不支持的语言：{lang}（可选 zh、en）", f"unknown language: {lang} (zh or en)"
        )


# --------------------------------------------------------------------------- numbers


def _clean(value: Any) -> Any:
    """JSON-ready: NaN and infinities become None, tuples lists, numpy scalars Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class _SampleResult:
    model: str  # "champion" | "challenger"
    sample: ScoredSample
    metrics: SampleMetrics
    calibration: list[CalibrationBin]


def _sample_results(role: str, section: ModelSection) -> list[_SampleResult]:
    results = []
    for s in section.samples:
        if s.score is not None and np.shape(s.score) != np.shape(s.pd):
            raise PuhuiError(
                f"样本 {s.name} 的评分与 PD 长度不同",
                f"sample {s.name}: score and pd differ in length",
            )
        results.append(
            _SampleResult(
                role, s, sample_metrics(s.name, s.y, s.pd), calibration_by_decile(s.y, s.pd)
            )
        )
    return results


def _models(report: ValidationReport) -> list[tuple[str, ModelSection]]:
    models = [("champion", report.champion)]
    if report.challenger is not None:
        models.append(("challenger", report.challenger))
    return models


def report_data(report: ValidationReport) -> dict[str, Any]:
    """The numbers of the report, JSON-ready (what ``report.json`` holds): metadata, per
    model and sample the metrics and calibration by decile, the variables with IV, bins
    and PSI, the score PSI, the PSI thresholds, and the notes. NaN is written as None."""
    return _report_data(report, _all_results(report))


def _all_results(report: ValidationReport) -> dict[str, list[_SampleResult]]:
    return {role: _sample_results(role, section) for role, section in _models(report)}


def _report_data(
    report: ValidationReport, results: dict[str, list[_SampleResult]]
) -> dict[str, Any]:
    models: dict[str, Any] = {"champion": None, "challenger": None}
    for role, section in _models(report):
        models[role] = {
            "model_id": section.model_id,
            "kind": section.kind,
            "status": section.status,
            "owner": section.owner,
            "samples": [
                {
                    **asdict(r.metrics),
                    "calibration": [asdict(b) for b in r.calibration],
                }
                for r in results[role]
            ],
        }
    data = {
        "title": report.title,
        "created_at": report.created_at,
        "as_of": report.as_of,
        "training_fingerprint": report.training_fingerprint,
        "policy_version": report.policy_version,
        "psi_thresholds": {"watch": PSI_WATCH, "warning": PSI_WARNING},
        "psi_populations": {
            "expected": report.psi_populations[0],
            "actual": report.psi_populations[1],
        },
        "models": models,
        "score_psi": report.score_psi,
        "score_psi_level": psi_level(report.score_psi),
        "score_psi_table": [asdict(b) for b in report.score_psi_table],
        "variables": [
            {
                "name": v.name,
                "zh": v.zh,
                "en": v.en,
                "iv": v.iv,
                "selected": v.selected,
                "reason_dropped": v.reason_dropped,
                "reason_dropped_zh": v.reason_dropped_zh,
                "psi": v.psi,
                "psi_level": psi_level(v.psi),
                "bins": [asdict(b) for b in v.bins],
                "psi_table": [asdict(b) for b in v.psi_table],
            }
            for v in report.variables
        ],
        "notes": list(report.notes),
    }
    cleaned: dict[str, Any] = _clean(data)
    return cleaned


# --------------------------------------------------------------------------- charts

_FONT = (
    '-apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "Segoe UI", Roboto, sans-serif'
)
_COLORS = {"champion": "#1f5fa8", "challenger": "#d9731a"}
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
_GOOD, _BAD = "#2e8b57", "#c0392b"
_LEVEL_COLORS = {"ok": "#2e8b57", "watch": "#d4a017", "warning": "#c0392b"}


def _floats(values: Any, digits: int = 6) -> list[float | None]:
    return [None if not math.isfinite(v) else round(float(v), digits) for v in values]


def _layout(x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": {"family": _FONT, "size": 12},
        "margin": {"l": 56, "r": 16, "t": 36, "b": 48},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "legend": {"orientation": "h", "y": -0.22},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }
    layout.update(extra)
    return layout


class _Charts:
    """The charts of one page: ``add`` returns the id of the ``div`` to place."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}

    def add(self, data: list[dict[str, Any]], layout: dict[str, Any]) -> str:
        chart_id = f"chart-{len(self.specs) + 1}"
        self.specs[chart_id] = {"data": data, "layout": layout}
        return chart_id

    def json(self) -> str:
        text = json.dumps(_clean(self.specs), ensure_ascii=False, allow_nan=False)
        # Safe inside <script>: no "</script>", no HTML comment, whatever the labels hold.
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class _Page:
    """Labels and names of one language."""

    def __init__(self, lang: str, populations: tuple[str, str]) -> None:
        self.lang = lang
        self.t = LABELS[lang]
        self.populations = populations

    def name(self, key: str) -> str:
        return NAMES[self.lang].get(key, key)

    def role(self, role: str) -> str:
        return self.t[role]


def _roc_chart(charts: _Charts, page: _Page, results: list[_SampleResult]) -> str:
    data: list[dict[str, Any]] = [
        {
            "x": [0, 1],
            "y": [0, 1],
            "mode": "lines",
            "name": page.t["random"],
            "line": {"color": "#999999", "dash": "dot", "width": 1},
            "hoverinfo": "skip",
        }
    ]
    for i, r in enumerate(results):
        curve = roc_curve_points(r.sample.y, r.sample.pd)
        if curve.fpr.size == 0:
            continue
        data.append(
            {
                "x": _floats(curve.fpr, 4),
                "y": _floats(curve.tpr, 4),
                "mode": "lines",
                "name": f"{page.role(r.model)} · {page.name(r.sample.name)} "
                f"(AUC {_fmt(r.metrics.auc)})",
                "line": {"color": _COLORS[r.model], "dash": _DASHES[i % len(_DASHES)]},
            }
        )
    layout = _layout(page.t["fpr"], page.t["tpr"])
    layout["xaxis"].update(range=[0, 1], tickformat=".0%")
    layout["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    return charts.add(data, layout)


def _ks_chart(charts: _Charts, page: _Page, results: list[_SampleResult]) -> str:
    data: list[dict[str, Any]] = []
    for i, r in enumerate(results):
        curve = ks_curve_points(r.sample.y, r.sample.pd)
        if curve.population.size == 0:
            continue
        dash = _DASHES[i % len(_DASHES)]
        sample = page.name(r.sample.name)
        data.append(
            {
                "x": _floats(curve.population, 4),
                "y": _floats(curve.bads, 4),
                "mode": "lines",
                "name": f"{sample} · {page.t['cum_bads']}",
                "line": {"color": _BAD, "dash": dash},
            }
        )
        data.append(
            {
                "x": _floats(curve.population, 4),
                "y": _floats(curve.goods, 4),
                "mode": "lines",
                "name": f"{sample} · {page.t['cum_goods']}",
                "line": {"color": _GOOD, "dash": dash},
            }
        )
        at = int(np.argmin(np.abs(curve.population - curve.ks_population)))
        data.append(
            {
                "x": [curve.ks_population, curve.ks_population],
                "y": [float(curve.goods[at]), float(curve.bads[at])],
                "mode": "lines+text",
                "name": f"{sample} · KS {_fmt(curve.ks)}",
                "text": ["", f"KS {_fmt(curve.ks)}"],
                "textposition": "top center",
                "line": {"color": "#333333", "width": 2, "dash": dash},
            }
        )
    layout = _layout(page.t["population_share"], page.t["cum_share"])
    layout["xaxis"].update(range=[0, 1], tickformat=".0%")
    layout["yaxis"].update(range=[0, 1.05], tickformat=".0%")
    return charts.add(data, layout)


def _calibration_chart(charts: _Charts, page: _Page, r: _SampleResult) -> str:
    x = [str(b.decile) for b in r.calibration]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": x,
            "y": _floats([b.mean_pd for b in r.calibration]),
            "name": page.t["predicted"],
            "marker": {"color": "#9ab7d9" if r.model == "champion" else "#f0bf8f"},
        },
        {
            "type": "bar",
            "x": x,
            "y": _floats([b.bad_rate for b in r.calibration]),
            "name": page.t["observed"],
            "marker": {"color": _COLORS[r.model]},
            "customdata": [b.count for b in r.calibration],
            "hovertemplate": "%{y:.2%} (n=%{customdata})",
        },
    ]
    layout = _layout(
        page.t["decile"],
        page.t["bad_rate"],
        barmode="group",
        title={"text": f"{page.role(r.model)} · {page.name(r.sample.name)}", "x": 0.02},
    )
    layout["xaxis"]["type"] = "category"
    layout["yaxis"]["tickformat"] = ".1%"
    return charts.add(data, layout)


def _distribution_chart(charts: _Charts, page: _Page, r: _SampleResult) -> str:
    s = r.sample
    values = np.asarray(s.score if s.score is not None else s.pd, dtype=np.float64)
    bad = np.asarray(s.y) == 1
    finite = np.isfinite(values)
    values, bad = values[finite], bad[finite]
    edges = np.histogram_bin_edges(values, bins=min(25, max(5, int(np.sqrt(values.size)))))
    centers = (edges[:-1] + edges[1:]) / 2
    data: list[dict[str, Any]] = []
    for mask, label, color in ((~bad, page.t["goods"], _GOOD), (bad, page.t["bads_short"], _BAD)):
        counts, _ = np.histogram(values[mask], bins=edges)
        total = max(int(mask.sum()), 1)
        data.append(
            {
                "type": "bar",
                "x": _floats(centers),
                "y": _floats(counts / total),
                "width": float(edges[1] - edges[0]),
                "name": f"{label} (n={int(mask.sum()):,})",
                "marker": {"color": color},
                "opacity": 0.6,
            }
        )
    layout = _layout(
        page.t["score"] if s.score is not None else page.t["pd"],
        page.t["share"],
        barmode="overlay",
        title={"text": f"{page.role(r.model)} · {page.name(s.name)}", "x": 0.02},
    )
    layout["yaxis"]["tickformat"] = ".0%"
    return charts.add(data, layout)


def _binning_chart(charts: _Charts, page: _Page, v: VariableReport) -> str:
    labels = [page.t["missing"] if b.label.lower() == "missing" else b.label for b in v.bins]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": labels,
            "y": [b.count for b in v.bins],
            "name": page.t["count"],
            "marker": {"color": "#9ab7d9"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": labels,
            "y": _floats([b.event_rate for b in v.bins]),
            "name": page.t["event_rate"],
            "yaxis": "y2",
            "line": {"color": _BAD},
        },
    ]
    layout = _layout(page.t["bin"], page.t["count"])
    layout["xaxis"]["type"] = "category"
    layout["yaxis2"] = {
        "title": {"text": page.t["event_rate"]},
        "overlaying": "y",
        "side": "right",
        "tickformat": ".1%",
        "rangemode": "tozero",
        "automargin": True,
    }
    layout["margin"]["r"] = 56
    return charts.add(data, layout)


def _psi_chart(charts: _Charts, page: _Page, variables: list[VariableReport]) -> str:
    ordered = sorted(variables, key=lambda v: v.psi or 0.0)
    levels = [psi_level(v.psi) or "ok" for v in ordered]
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "orientation": "h",
            "y": [v.name for v in ordered],
            "x": _floats([v.psi or 0.0 for v in ordered], 4),
            "customdata": [getattr(v, page.lang) for v in ordered],
            "hovertemplate": "%{y} · %{customdata}: %{x:.4f}<extra></extra>",
            "marker": {"color": [_LEVEL_COLORS[level] for level in levels]},
            "name": page.t["psi"],
        }
    ]
    top = max([PSI_WARNING * 1.2, *[(v.psi or 0.0) * 1.05 for v in ordered]])
    layout = _layout(page.t["psi"], "", showlegend=False)
    layout["xaxis"]["range"] = [0, top]
    layout["yaxis"]["type"] = "category"
    layout["height"] = max(260, 28 * len(ordered) + 100)
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": limit,
            "x1": limit,
            "y0": 0,
            "y1": 1,
            "line": {"color": _LEVEL_COLORS[level], "dash": "dash", "width": 1},
        }
        for limit, level in ((PSI_WATCH, "watch"), (PSI_WARNING, "warning"))
    ]
    return charts.add(data, layout)


def _psi_bucket_chart(charts: _Charts, page: _Page, table: tuple[PsiBucket, ...]) -> str:
    labels = [page.t["missing"] if b.missing else b.label for b in table]
    expected, actual = (page.name(p) for p in page.populations)
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "x": labels,
            "y": _floats([b.expected_share for b in table], 4),
            "name": expected,
            "marker": {"color": "#9ab7d9"},
        },
        {
            "type": "bar",
            "x": labels,
            "y": _floats([b.actual_share for b in table], 4),
            "name": actual,
            "marker": {"color": _COLORS["challenger"]},
        },
    ]
    layout = _layout(page.t["bin"], page.t["share"], barmode="group")
    layout["xaxis"]["type"] = "category"
    layout["yaxis"]["tickformat"] = ".0%"
    return charts.add(data, layout)


# --------------------------------------------------------------------------- formatting


def _fmt(value: float | None, digits: int = 4) -> str:
    """A metric with ``digits`` decimals; "—" for None or NaN."""
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def _pct(value: float | None, digits: int = 2) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:.{digits}f}%"


def _int(value: int) -> str:
    return f"{value:,}"


def _points(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


# --------------------------------------------------------------------------- page


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(fmt=_fmt, pct=_pct, thousands=_int, points=_points)
    return env


def _page_context(
    report: ValidationReport, lang: str, results: dict[str, list[_SampleResult]]
) -> dict[str, Any]:
    page = _Page(lang, report.psi_populations)
    t = page.t
    charts = _Charts()
    all_results = [r for rs in results.values() for r in rs]

    models = []
    for role, section in _models(report):
        rs = results[role]
        models.append(
            {
                "role": role,
                "label": t[role],
                "section": section,
                "kind": page.name(section.kind),
                "status": page.name(section.status),
                "ks_chart": _ks_chart(charts, page, rs),
                "samples": [
                    {
                        "name": page.name(r.sample.name),
                        "calibration": r.calibration,
                        "calibration_chart": _calibration_chart(charts, page, r),
                        "distribution_chart": _distribution_chart(charts, page, r),
                    }
                    for r in rs
                ],
            }
        )

    # Metric rows grouped by sample, champion then challenger.
    sample_names: list[str] = []
    for r in all_results:
        if r.sample.name not in sample_names:
            sample_names.append(r.sample.name)
    metric_groups = [
        {
            "sample": page.name(name),
            "rows": [
                {"model": t[r.model], "role": r.model, "m": r.metrics}
                for r in all_results
                if r.sample.name == name
            ],
        }
        for name in sample_names
    ]

    def reason(v: VariableReport) -> str:
        if lang == "zh" and v.reason_dropped_zh:
            return v.reason_dropped_zh
        return v.reason_dropped or ""

    variables = [
        {
            "v": v,
            "desc": getattr(v, lang),
            "reason": reason(v),
            "level": psi_level(v.psi),
        }
        for v in sorted(report.variables, key=lambda v: (not v.selected, -v.iv))
    ]
    binning = [
        {
            "v": v,
            "desc": getattr(v, lang),
            "chart": _binning_chart(charts, page, v),
            "has_points": any(b.points is not None for b in v.bins),
            "bins": [
                {"b": b, "label": t["missing"] if b.label.lower() == "missing" else b.label}
                for b in v.bins
            ],
        }
        for v in sorted(report.variables, key=lambda v: -v.iv)
        if v.selected and v.bins
    ]
    with_psi = [v for v in report.variables if v.psi is not None and math.isfinite(v.psi)]

    warnings = []
    score_level = psi_level(report.score_psi)
    if score_level == "warning":
        warnings.append(
            t["warn_score"].format(value=_fmt(report.score_psi), limit=f"{PSI_WARNING:.2f}")
        )
    for v in sorted(with_psi, key=lambda v: -(v.psi or 0.0)):
        if psi_level(v.psi) == "warning":
            warnings.append(
                t["warn_feature"].format(
                    name=v.name,
                    desc=getattr(v, lang),
                    value=_fmt(v.psi),
                    limit=f"{PSI_WARNING:.2f}",
                )
            )
    watching = sum(1 for v in with_psi if psi_level(v.psi) == "watch")
    watch_line = (
        t["watch_count"].format(count=watching, limit=f"{PSI_WATCH:.2f}") if watching else None
    )

    other = "en" if lang == "zh" else "zh"
    return {
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "t": t,
        "report": report,
        "other_page": PAGES[other],
        "other_lang": other,
        "models": models,
        "metric_groups": metric_groups,
        "roc_chart": _roc_chart(charts, page, all_results),
        "variables": variables,
        "binning": binning,
        "psi_chart": _psi_chart(charts, page, with_psi) if with_psi else None,
        "score_psi_level": score_level,
        "score_psi_chart": (
            _psi_bucket_chart(charts, page, report.score_psi_table)
            if report.score_psi_table
            else None
        ),
        "populations_line": t["populations"].format(
            expected=page.name(report.psi_populations[0]),
            actual=page.name(report.psi_populations[1]),
        ),
        "stability_note": t["stability_note"].format(
            watch=f"{PSI_WATCH:.2f}", warning=f"{PSI_WARNING:.2f}"
        ),
        "warnings": warnings,
        "watch_line": watch_line,
        "charts_json": charts.json(),
    }


def render_report(report: ValidationReport, out_dir: Path, lang: str = "zh") -> Path:
    """Write the report into ``out_dir`` (created if needed): ``index.html`` (Chinese),
    ``index.en.html`` (English), linked to each other, and ``report.json``
    (:func:`report_data`). Returns the path of the page in ``lang`` (``"zh"``, the
    default, or ``"en"``). Existing files of the same names are replaced."""
    _check_lang(lang)
    from plotly.offline import get_plotlyjs

    results = _all_results(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = _environment().get_template("report.html.j2")
    plotlyjs = get_plotlyjs()
    for page_lang in LANGS:
        context = _page_context(report, page_lang, results)
        html = template.render(plotlyjs=plotlyjs, **context)
        (out_dir / PAGES[page_lang]).write_text(html, encoding="utf-8")
    data = _report_data(report, results)
    (out_dir / "report.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return out_dir / PAGES[lang]
