"""A bank's own model (一行一模型): a scorecard fitted on any table a bank brings.

``puhui model fit DATA.csv --target COLUMN --bad VALUE --out DIR`` reads a CSV (UTF-8 or
GB18030), types its columns, holds out a seeded random 30 % as a test sample, fits a
:class:`~puhui.scoring.scorecard.Scorecard` on the rest and writes into ``DIR``:

``scorecard.json``  the artefact (versioned, fingerprinted)
``points.csv``      the points table, for people
``metrics.json``    train and test: rows, bads, AUC, Gini, KS
``columns.json``    the type of every column used, the target, what was left out and why

``puhui model apply DIR DATA.csv --out FILE.csv`` scores a table without the target: every
input row, in order, with its original columns plus ``score``, ``pd`` (the probability of
the bad value) and ``reason_1..3``.

Reading rules, one place (:func:`read_table`): the encoding is detected by the ingest
reader's :func:`~puhui.ingest.readers.detect_encoding`; every cell is read as text and
trimmed; empty cells and ``NA``, ``N/A``, ``null``, ``NaN`` (any case) are missing. A column
is numerical when every non-missing value parses as a number, else categorical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from puhui.errors import PuhuiError
from puhui.ingest.readers import detect_encoding, normalize_header
from puhui.scoring.metrics import SampleMetrics, sample_metrics
from puhui.scoring.scorecard import (
    CATEGORICAL,
    NUMERICAL,
    Scorecard,
    ScorecardParams,
    as_float,
    fit_scorecard,
)

#: Cell texts read as missing (compared trimmed and case-folded).
MISSING_TEXTS = frozenset({"", "na", "n/a", "null", "nan"})
#: Share of rows held out as the test sample, and the default seed of the split.
TEST_SHARE = 0.3
SEED = 20240601
#: Each class needs at least this many rows for a scorecard and a meaningful test sample.
MIN_CLASS_ROWS = 10
#: A categorical column with more distinct values than this share of the rows (and more
#: than :data:`ID_MIN_DISTINCT`) is an identifier, not a characteristic: left out.
ID_SHARE = 0.5
ID_MIN_DISTINCT = 20

SCORECARD_FILE = "scorecard.json"
POINTS_FILE = "points.csv"
METRICS_FILE = "metrics.json"
COLUMNS_FILE = "columns.json"
REASONS = ("reason_1", "reason_2", "reason_3")
OUTPUT_COLUMNS = ("score", "pd", *REASONS)


@dataclass(frozen=True)
class Table:
    """A CSV read as text under its trimmed headers: ``frame`` holds trimmed cells with
    None for missing ones; ``original`` the cells as written (for the scored output)."""

    path: Path
    encoding: str
    frame: pd.DataFrame
    original: pd.DataFrame

    def column(self, name: str) -> str | None:
        """The header matching ``name`` exactly, else after NFKC and case folding."""
        if name in self.frame.columns:
            return name
        wanted = normalize_header(name)
        return next((c for c in self.frame.columns if normalize_header(c) == wanted), None)


@dataclass(frozen=True)
class FitResult:
    """What ``fit_table`` made: the scorecard, its metrics, the column types used, the
    columns left out (name -> reason) and the data rows skipped for an empty target."""

    scorecard: Scorecard
    train: SampleMetrics
    test: SampleMetrics
    columns: dict[str, str]
    excluded: dict[str, str]
    skipped_rows: list[int] = field(default_factory=list)
    out_dir: Path = Path()


# --- reading --------------------------------------------------------------------------------


def read_table(path: Path) -> Table:
    """Read a CSV as text cells (None = missing), refusing what is no usable table."""
    if not path.is_file():
        raise PuhuiError(f"文件 {path} 不存在", f"no such file: {path}")
    encoding = detect_encoding(path)
    try:
        raw = pd.read_csv(
            path,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise PuhuiError(f"{path.name} 是空文件", f"{path.name} is empty") from None
    except pd.errors.ParserError as error:
        line = re.search(r"line (\d+), saw (\d+)", str(error))
        where_zh = f"第 {line.group(1)} 行有 {line.group(2)} 个字段，" if line else ""
        where_en = f"line {line.group(1)} has {line.group(2)} fields, " if line else ""
        raise PuhuiError(
            f"{path.name} 不是有效的 CSV：{where_zh}与表头不符",
            f"{path.name} is not a valid CSV: {where_en}unlike the header",
        ) from None
    except UnicodeDecodeError:
        raise PuhuiError(
            f"{path.name} 中有不是 {encoding} 编码的内容",
            f"part of {path.name} is not valid {encoding}",
        ) from None
    headers = [str(h).replace("\ufeff", "").strip() for h in raw.iloc[0].fillna("")]
    for position, header in enumerate(headers, start=1):
        if not header:
            raise PuhuiError(
                f"{path.name} 第 {position} 列没有表头",
                f"column {position} of {path.name} has no header",
            )
    repeated = sorted({h for h in headers if headers.count(h) > 1})
    if repeated:
        raise PuhuiError(
            f"{path.name} 表头重复：{'、'.join(repeated)}",
            f"{path.name} repeats headers: {', '.join(repeated)}",
        )
    if len(raw) < 2:
        raise PuhuiError(
            f"{path.name} 只有表头，没有数据行", f"{path.name} has a header but no rows"
        )
    original = raw.iloc[1:].reset_index(drop=True).fillna("")  # short rows: empty cells
    original.columns = pd.Index(headers)
    cleaned = {}
    for name in headers:
        text = original[name].astype(str).str.strip()
        missing = text.str.casefold().isin(MISSING_TEXTS)
        cleaned[name] = text.astype(object).where(~missing, None)
    return Table(path, encoding, pd.DataFrame(cleaned), original)


def column_types(frame: pd.DataFrame) -> dict[str, str]:
    """``numerical`` when every non-missing value parses as a number, else ``categorical``."""
    types = {}
    for name in frame.columns:
        values = frame[name]
        known = values.notna()
        parsed = pd.to_numeric(values[known], errors="coerce")
        types[name] = NUMERICAL if parsed.notna().all() else CATEGORICAL
    return types


def typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Numbers as float64 (text that is no number: NaN), categories as text or None."""
    return pd.DataFrame(
        {
            name: as_float(frame[name]) if kind == NUMERICAL else frame[name].astype(object)
            for name, kind in types.items()
        },
        index=frame.index,
    )


# --- the target ---------------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def target_labels(table: Table, column: str, bad_value: str) -> tuple[np.ndarray, list[int]]:
    """1 where the target is the bad value, 0 where it is the other one, and the 1-based
    data rows whose target is empty (to skip). Text is compared trimmed; when both the
    target and ``bad_value`` are numbers they are compared as numbers (``1.0`` is ``1``)."""
    values = table.frame[column]
    known = values.notna().to_numpy()
    skipped = (np.flatnonzero(~known) + 1).tolist()
    text = values[known].astype(str).to_numpy(dtype=object)
    numbers = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(dtype=np.float64)
    bad = bad_value.strip()
    keys: np.ndarray
    bad_key: object
    if not np.isnan(numbers).any():
        keys, bad_key = numbers, _number(bad)  # as numbers: 1 and 1.0 are one value
        distinct: list[Any] = np.unique(numbers).tolist()
        spelled = [f"{v:g}" for v in distinct]
    else:
        keys, bad_key = text, bad
        distinct = sorted(set(text.tolist()))
        spelled = distinct
    name = table.path.name
    if not distinct:
        raise PuhuiError(
            f"{name} 的目标列 {column} 全部为空", f"the target column {column!r} of {name} is empty"
        )
    shown = ", ".join(repr(v) for v in spelled[:5]) + (" …" if len(spelled) > 5 else "")
    if len(distinct) == 1:
        raise PuhuiError(
            f"{name} 的目标列 {column} 只有一个取值 {shown}，无法区分好坏",
            f"the target column {column!r} of {name} has one value only ({shown}); "
            "a scorecard needs goods and bads",
        )
    if bad_key not in distinct:
        raise PuhuiError(
            f"{name} 的目标列 {column} 中没有坏样本取值 {bad!r}（取值为 {shown}）",
            f"the bad value {bad!r} never occurs in the target column {column!r} of {name} "
            f"(its values: {shown})",
        )
    if len(distinct) > 2:
        raise PuhuiError(
            f"{name} 的目标列 {column} 有 {len(distinct)} 个取值（{shown}），需要恰好两个",
            f"the target column {column!r} of {name} has {len(distinct)} values ({shown}); "
            "it needs exactly two",
        )
    return np.asarray(keys == bad_key, dtype=np.int64), skipped


# --- fit and apply ----------------------------------------------------------------------------


def fit_table(
    csv_path: Path,
    target: str,
    bad_value: str,
    out_dir: Path,
    params: ScorecardParams = ScorecardParams(),  # frozen, so safe to share
    *,
    exclude: Sequence[str] = (),
    seed: int = SEED,
    test_share: float = TEST_SHARE,
) -> FitResult:
    """Fit a scorecard on a bank's CSV and write the four files into ``out_dir``."""
    from sklearn.model_selection import train_test_split

    table = read_table(csv_path)
    name = csv_path.name
    column = table.column(target)
    if column is None:
        raise PuhuiError(
            f"{name} 中没有目标列 {target}（有 {'、'.join(table.frame.columns)}）",
            f"{name} has no target column {target!r} (its columns: "
            f"{', '.join(table.frame.columns)})",
        )
    y_all, skipped = target_labels(table, column, bad_value)
    kept = table.frame[column].notna().to_numpy()
    excluded: dict[str, str] = {}
    for wanted in exclude:
        found = table.column(wanted)
        if found is None:
            raise PuhuiError(f"{name} 中没有列 {wanted}", f"{name} has no column {wanted!r}")
        excluded[found] = "excluded by request"
    frame = table.frame.loc[kept].drop(columns=[column, *excluded]).reset_index(drop=True)
    types = column_types(frame)
    for col, kind in types.items():
        distinct = frame[col].nunique()
        if kind == CATEGORICAL and distinct > max(ID_MIN_DISTINCT, ID_SHARE * len(frame)):
            excluded[col] = f"looks like an identifier: {distinct} distinct values"
    types = {c: k for c, k in types.items() if c not in excluded}
    if not types:
        raise PuhuiError(f"{name} 除目标外没有可用的列", f"{name} has no column besides the target")
    bads = int(y_all.sum())
    goods = len(y_all) - bads
    if min(bads, goods) < MIN_CLASS_ROWS:
        raise PuhuiError(
            f"{name} 只有 {bads} 个坏样本、{goods} 个好样本，每类至少需要 {MIN_CLASS_ROWS} 个",
            f"{name} has {bads} bad and {goods} good rows; each needs at least {MIN_CLASS_ROWS}",
        )
    data = typed(frame, types)
    rows = np.arange(len(data))
    train_rows, test_rows = train_test_split(
        rows, test_size=test_share, stratify=y_all, random_state=seed
    )
    train_rows, test_rows = np.sort(train_rows), np.sort(test_rows)
    train = data.iloc[train_rows].reset_index(drop=True)
    test = data.iloc[test_rows].reset_index(drop=True)
    categorical = [c for c, k in types.items() if k == CATEGORICAL]
    card = fit_scorecard(
        train,
        y_all[train_rows],
        categorical=categorical,
        params=params,
        target=column,
        bad_value=bad_value.strip(),
    )
    result = FitResult(
        scorecard=card,
        train=sample_metrics("train", y_all[train_rows], card.pd(card.score(train))),
        test=sample_metrics("test", y_all[test_rows], card.pd(card.score(test))),
        columns=types,
        excluded=excluded,
        skipped_rows=skipped,
        out_dir=out_dir,
    )
    _write_model(result, table, seed, test_share)
    return result


def _finite(value: float) -> float | None:
    return round(value, 6) if np.isfinite(value) else None


def _write_model(result: FitResult, table: Table, seed: int, test_share: float) -> None:
    out = result.out_dir
    if out.exists() and not out.is_dir():
        raise PuhuiError(f"{out} 不是文件夹", f"{out} is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    card = result.scorecard
    (out / SCORECARD_FILE).write_text(card.to_json(), encoding="utf-8")
    (out / POINTS_FILE).write_text(card.points_csv(), encoding="utf-8")
    metrics: dict[str, Any] = {
        sample: {
            "n": m.n,
            "bads": m.bads,
            "auc": _finite(m.auc),
            "gini": _finite(m.gini),
            "ks": _finite(m.ks),
        }
        for sample, m in (("train", result.train), ("test", result.test))
    }
    metrics["split"] = {"test_share": test_share, "seed": seed, "stratified": True}
    metrics["fingerprint"] = card.fingerprint
    (out / METRICS_FILE).write_text(
        json.dumps(metrics, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    columns = {
        "source": table.path.name,
        "encoding": table.encoding,
        "target": card.target,
        "bad_value": card.bad_value,
        "columns": result.columns,
        "excluded": result.excluded,
        "skipped_rows": len(result.skipped_rows),
    }
    (out / COLUMNS_FILE).write_text(
        json.dumps(columns, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def load_model(model_dir: Path) -> Scorecard:
    path = model_dir / SCORECARD_FILE
    if not path.is_file():
        raise PuhuiError(
            f"{model_dir} 中没有 {SCORECARD_FILE}（请先运行 puhui model fit）",
            f"no {SCORECARD_FILE} in {model_dir} (run puhui model fit first)",
        )
    return Scorecard.from_json(path.read_text(encoding="utf-8"))


def reason_texts(names: Any) -> np.ndarray:
    """Reason variable names as shown: a platform feature with its zh and en description
    (:func:`puhui.scoring.service.reason_labels`), any other column as its name."""
    from puhui.scoring.service import reason_labels

    array = np.asarray(names, dtype=object)
    flat = pd.Series(array.ravel(), dtype=object)
    shown = flat.map(reason_labels()).fillna(flat).fillna("")  # a dict lookup, not a row loop
    return shown.to_numpy(dtype=object).reshape(array.shape)


def apply_table(model_dir: Path, csv_path: Path, out_csv: Path) -> int:
    """Score every row of ``csv_path`` with the model in ``model_dir``; write ``out_csv``
    (UTF-8) with the original columns, in order, plus score, pd and reason_1..3. Returns
    the number of rows written."""
    card = load_model(model_dir)
    table = read_table(csv_path)
    used = {v.name: table.column(v.name) for v in card.variables}
    absent = [n for n, found in used.items() if found is None]
    if absent:
        raise PuhuiError(
            f"{csv_path.name} 缺少模型所需的列：{'、'.join(absent)}",
            f"{csv_path.name} lacks columns the model needs: {', '.join(absent)}",
        )
    clash = [c for c in OUTPUT_COLUMNS if c in table.frame.columns]
    if clash:
        raise PuhuiError(
            f"{csv_path.name} 已有列 {'、'.join(clash)}，会与评分结果重名",
            f"{csv_path.name} already has columns {', '.join(clash)}, which the output adds",
        )
    types = {v.name: v.dtype for v in card.variables}
    inputs = typed(
        pd.DataFrame({v: table.frame[c] for v, c in used.items() if c is not None}), types
    )
    points = card.points(inputs)
    score = points.sum(axis=1)
    out = table.original.copy()
    out["score"] = score
    out["pd"] = np.round(card.pd(score), 6)
    reasons = reason_texts(card.reasons(points, k=len(REASONS)))
    for i, name in enumerate(REASONS):
        out[name] = reasons[:, i]
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_csv, index=False, encoding="utf-8", float_format="%.10g")
    return len(out)
