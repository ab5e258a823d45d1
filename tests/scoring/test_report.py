"""The validation report: both pages and report.json from a small synthetic report with a
champion scorecard and a LightGBM challenger."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from puhui.errors import PuhuiError
from puhui.scoring.metrics import psi, psi_table, sample_metrics
from puhui.scoring.report import (
    LABELS,
    BinRow,
    ModelSection,
    ScoredSample,
    ValidationReport,
    VariableReport,
    render_report,
    report_data,
)


def _sample(rng: np.random.Generator, name: str, n: int, drift: float = 0.0) -> ScoredSample:
    x = rng.normal(loc=drift, size=n)
    logit = 1.3 * x - 2.4
    pd = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < pd).astype(int)
    score = np.round(600 - 40 * logit)
    return ScoredSample(name, y, pd, score)


def _bins(points: bool) -> tuple[BinRow, ...]:
    return (
        BinRow("(-inf, 0.5)", 600, 30, 0.05, -0.62, 0.18, 35.0 if points else None),
        BinRow("[0.5, 2)", 300, 36, 0.12, 0.31, 0.03, 22.0 if points else None),
        BinRow("[2, +inf)", 80, 20, 0.25, 1.05, 0.12, 5.0 if points else None),
        BinRow("missing", 20, 2, 0.10, 0.11, 0.0, 18.0 if points else None),
    )


@pytest.fixture(scope="module")
def report() -> ValidationReport:
    rng = np.random.default_rng(42)
    champion_samples = (
        _sample(rng, "train", 2000),
        _sample(rng, "test", 800),
        _sample(rng, "out_of_time", 600, drift=0.4),
    )
    challenger_samples = tuple(
        ScoredSample(s.name, s.y, np.clip(s.pd * rng.uniform(0.8, 1.2, s.pd.size), 0, 1), None)
        for s in champion_samples
    )
    train_score = champion_samples[0].score
    oot_score = champion_samples[2].score
    assert train_score is not None
    assert oot_score is not None
    revenue_e, revenue_a = rng.normal(size=1000), rng.normal(loc=0.8, size=1000)
    variables = (
        VariableReport(
            "revenue_trend_3m",
            "近3个月营业收入趋势",
            "Revenue trend over 3 months",
            0.34,
            True,
            None,
            _bins(points=True),
            psi(revenue_e, revenue_a),
            psi_table=tuple(psi_table(revenue_e, revenue_a)),
        ),
        VariableReport(
            "tax_arrears_months_12m",
            "近12个月欠税月数",
            "Months in tax arrears, last 12 months",
            0.21,
            True,
            None,
            _bins(points=True),
            0.14,
        ),
        VariableReport(
            "power_kwh_trend",
            "用电量趋势",
            "Electricity use trend",
            0.011,
            False,
            "IV below 0.02",
            _bins(points=False),
            0.02,
            reason_dropped_zh="IV 低于 0.02",
        ),
        VariableReport(
            "insured_headcount",
            "参保人数",
            "Insured headcount",
            0.09,
            False,
            "unstable (PSI 0.31)",
            (),
            0.31,
        ),
        VariableReport(
            "x</script><script>alert(1)</script>",
            "注入<b>测试</b>",
            "injection <b>test</b>",
            0.05,
            False,
            "correlated with revenue_trend_3m",
            (),
            None,
        ),
    )
    return ValidationReport(
        title="小微企业信用评分卡 / SME credit scorecard",
        created_at="2026-05-01T10:00:00+08:00",
        as_of="2026-03-31",
        training_fingerprint="sha256:0f3a9c1d2e4b5a6978",
        policy_version="policy-2026-02",
        champion=ModelSection(
            "sc-2026-001", "scorecard", "validated", "风险管理部", champion_samples
        ),
        challenger=ModelSection(
            "lgb-2026-001", "lightgbm", "candidate", "风险管理部", challenger_samples
        ),
        variables=variables,
        score_psi=psi(train_score, oot_score),
        notes=("Out-of-time sample: applications of 2025Q4.",),
        score_psi_table=tuple(psi_table(train_score, oot_score)),
    )


@pytest.fixture(scope="module")
def rendered(report: ValidationReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert render_report(report, out) == out / "index.html"
    return out


def _charts(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="puhui-charts">(.*?)</script>', html, re.S
    )
    assert match is not None
    charts: dict[str, Any] = json.loads(match.group(1))
    return charts


def test_writes_both_pages_and_json(report: ValidationReport, tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    assert render_report(report, out, lang="en") == out / "index.en.html"
    assert sorted(p.name for p in out.iterdir()) == ["index.en.html", "index.html", "report.json"]
    assert render_report(report, out, lang="zh") == out / "index.html"


def test_pages_show_the_metric_values(report: ValidationReport, rendered: Path) -> None:
    for page in ("index.html", "index.en.html"):
        html = (rendered / page).read_text(encoding="utf-8")
        assert report.challenger is not None
        for section in (report.champion, report.challenger):
            assert section.model_id in html
            for s in section.samples:
                m = sample_metrics(s.name, s.y, s.pd)
                for value in (m.auc, m.gini, m.ks, m.brier):
                    assert f">{value:.4f}<" in html
                assert f">{m.n:,}<" in html
                assert f">{m.bad_rate * 100:.2f}%<" in html
        assert report.training_fingerprint in html
        assert f"{report.score_psi:.4f}" in html


def test_pages_are_self_contained(rendered: Path) -> None:
    bundle = get_plotlyjs()
    for page in ("index.html", "index.en.html"):
        html = (rendered / page).read_text(encoding="utf-8")
        assert html.count(bundle[:200]) == 1
        assert html.count("plotly.js v") == 1
        assert html.count(bundle) == 1
        assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
        assert not re.search(r"<link[^>]*\bhref\s*=", html, re.I)
        # Outside plotly.js itself (whose code holds URLs), nothing points to the web.
        page_only = html.replace(bundle, "")
        assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", page_only, re.I)
        assert "http://" not in page_only
        assert "https://" not in page_only


def test_chart_specs_are_valid_plotly(rendered: Path) -> None:
    html = (rendered / "index.html").read_text(encoding="utf-8")
    charts = _charts(html)
    # ROC, KS ×2, calibration and distribution ×6, binning ×2, feature PSI, score PSI.
    assert len(charts) == 1 + 2 + 12 + 2 + 1 + 1
    for chart_id, spec in charts.items():
        assert f'id="{chart_id}"' in html
        go.Figure(data=spec["data"], layout=spec["layout"])  # raises on a bad property


def test_language_labels(rendered: Path) -> None:
    zh = (rendered / "index.html").read_text(encoding="utf-8")
    en = (rendered / "index.en.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh
    assert '<html lang="en">' in en
    for label in (
        "模型验证报告",
        "冠军模型",
        "挑战者模型",
        "跨时间样本",
        "坏样本率",
        "分十等份校准",
    ):
        assert label in zh
    for label in ("Model validation report", "Champion", "Challenger", "out of time", "Bad rate"):
        assert label in en
        assert label not in zh
    assert "模型验证报告" not in en
    assert "分十等份校准" not in en
    # The switch links the two pages.
    assert 'href="index.en.html"' in zh
    assert 'href="index.html"' in en
    # Feature descriptions and drop reasons follow the language.
    assert "近3个月营业收入趋势" in zh
    assert "Revenue trend over 3 months" in en
    assert "IV 低于 0.02" in zh
    assert "IV below 0.02" in en
    assert "unstable (PSI 0.31)" in zh  # no Chinese given: shown as it is


def test_iv_table_and_binning(rendered: Path) -> None:
    en = (rendered / "index.en.html").read_text(encoding="utf-8")
    iv = en[en.index('id="variables"') : en.index('id="binning"')]
    for name in (
        "revenue_trend_3m",
        "tax_arrears_months_12m",
        "power_kwh_trend",
        "insured_headcount",
    ):
        assert name in iv
    assert "correlated with revenue_trend_3m" in iv
    binning = en[en.index('id="binning"') : en.index('id="stability"')]
    assert "revenue_trend_3m" in binning
    assert "tax_arrears_months_12m" in binning
    assert "power_kwh_trend" not in binning  # dropped variables get no binning chart
    assert ">-0.6200<" in binning  # WOE
    assert ">35<" in binning  # points
    assert "Points" in binning


def test_psi_marks(report: ValidationReport, rendered: Path) -> None:
    zh = (rendered / "index.html").read_text(encoding="utf-8")
    en = (rendered / "index.en.html").read_text(encoding="utf-8")
    assert '<span class="badge warning">warning</span>' in en
    assert '<span class="badge watch">watch</span>' in en
    assert '<span class="badge warning">预警</span>' in zh
    assert '<span class="badge watch">关注</span>' in zh
    summary = en[en.index('id="summary"') : en.index('id="metrics"')]
    assert "insured_headcount" in summary  # PSI 0.31 > 0.25
    assert "revenue_trend_3m" in summary  # shifted by 0.8 sd
    assert "tax_arrears_months_12m" not in summary  # 0.14: watch only


def test_user_text_is_escaped(rendered: Path) -> None:
    html = (rendered / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html
    assert "注入&lt;b&gt;测试&lt;/b&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 3  # chart data, plotly.js, the loop


def test_report_json(report: ValidationReport, rendered: Path) -> None:
    data = json.loads((rendered / "report.json").read_text(encoding="utf-8"))
    assert data == report_data(report)
    assert data["as_of"] == "2026-03-31"
    assert data["psi_thresholds"] == {"watch": 0.10, "warning": 0.25}
    champion = data["models"]["champion"]
    assert champion["model_id"] == "sc-2026-001"
    assert [s["name"] for s in champion["samples"]] == ["train", "test", "out_of_time"]
    for role, section in (("champion", report.champion), ("challenger", report.challenger)):
        assert section is not None
        for got, s in zip(data["models"][role]["samples"], section.samples, strict=True):
            m = sample_metrics(s.name, s.y, s.pd)
            assert got["n"] == m.n
            assert got["bads"] == m.bads
            assert got["auc"] == pytest.approx(m.auc)
            assert got["gini"] == pytest.approx(m.gini)
            assert got["ks"] == pytest.approx(m.ks)
            assert got["brier"] == pytest.approx(m.brier)
            assert sum(b["count"] for b in got["calibration"]) == m.n
    assert data["score_psi"] == pytest.approx(report.score_psi)
    levels = {v["name"]: v["psi_level"] for v in data["variables"]}
    assert levels["insured_headcount"] == "warning"
    assert levels["tax_arrears_months_12m"] == "watch"
    assert levels["power_kwh_trend"] == "ok"
    assert levels["x</script><script>alert(1)</script>"] is None


def test_no_challenger_and_a_sample_without_bads(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = _sample(rng, "train", 500)
    no_bads = ScoredSample("out_of_time", np.zeros(50, dtype=int), np.full(50, 0.04), None)
    report = ValidationReport(
        title="t",
        created_at="2026-05-01",
        as_of="2026-03-31",
        training_fingerprint="f",
        policy_version=None,
        champion=ModelSection("m1", "scorecard", "draft", "me", (train, no_bads)),
        challenger=None,
        variables=(),
        score_psi=None,
        notes=(),
    )
    page = render_report(report, tmp_path, lang="en")
    html = page.read_text(encoding="utf-8")
    assert "Challenger" not in html
    assert ">—<" in html  # AUC of a sample without bads
    for spec in _charts(html).values():
        go.Figure(data=spec["data"], layout=spec["layout"])
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["models"]["challenger"] is None
    oot = data["models"]["champion"]["samples"][1]
    assert oot["auc"] is None
    assert oot["ks"] is None
    assert oot["bads"] == 0


def test_unknown_language_is_refused(report: ValidationReport, tmp_path: Path) -> None:
    with pytest.raises(PuhuiError):
        render_report(report, tmp_path, lang="fr")
    assert not any(tmp_path.iterdir())


def test_labels_have_the_same_keys_in_both_languages() -> None:
    assert LABELS["zh"].keys() == LABELS["en"].keys()
