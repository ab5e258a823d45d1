"""LightGBM's trees, evaluated by us: no model library on the decision path.

The challenger's artefact (:class:`puhui.scoring.challenger.Challenger`) keeps the booster
as LightGBM's own text model. :func:`parse_booster` reads that text into a
:class:`TreeTable` — every node of every tree in flat numpy arrays — and
:meth:`TreeTable.margin` walks all trees at once, one level per step, for one row or many.
The walk follows LightGBM's ``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``
(``include/LightGBM/tree.h``):

* numerical split: a missing value (NaN) is read as 0 unless the node's missing type is
  NaN; then a value that is "missing" for the node (0 for missing type Zero, NaN for
  missing type NaN) takes the node's default direction; otherwise ``value <= threshold``
  goes left;
* categorical split: NaN or a negative code goes right; otherwise the code goes left when
  its bit is set in the node's bitset (``cat_threshold``), right when not (or when the code
  is past the bitset).

Leaf values in the text model already carry the learning rate, so the raw margin is their
sum. :meth:`TreeTable.contributions` is LightGBM's ``pred_contrib`` (path-dependent
TreeSHAP, ``Tree::TreeSHAP``) for one row, written in plain Python: it is needed only when
a LightGBM model is the champion and a decision must give its reasons.

The tests check the margin against ``Booster.predict(raw_score=True)`` (within 1e-9) and
the contributions against ``pred_contrib`` on the test region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from puhui.errors import PuhuiError

#: LightGBM's ``kZeroThreshold``: |value| at most this counts as zero.
ZERO_THRESHOLD = 1e-35
_CATEGORICAL = 1
_DEFAULT_LEFT = 2
_MISSING_ZERO = 1
_MISSING_NAN = 2

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class TreeModelError(PuhuiError):
    """A text model this module cannot read (a format it does not know)."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"无法读取 LightGBM 文本模型：{what}", f"cannot read the LightGBM model: {what}"
        )


@dataclass(frozen=True)
class TreeTable:
    """Every tree of a booster as flat arrays over all nodes.

    Internal nodes are numbered 0..N-1 across all trees; ``left``/``right`` hold the
    global number of a child, or ``-(leaf + 1)`` for a leaf (leaves numbered across all
    trees too). ``roots[t]`` is tree t's first node (a leaf code for a one-leaf tree).
    ``cat_table[slot]`` is the bitset of categorical node ``cat_slot[node]`` unpacked to
    booleans by category code.
    """

    feature: IntArray
    threshold: FloatArray
    categorical: NDArray[np.bool_]
    default_left: NDArray[np.bool_]
    missing_type: IntArray
    left: IntArray
    right: IntArray
    cat_slot: IntArray
    cat_table: NDArray[np.bool_]
    internal_count: FloatArray
    leaf_value: FloatArray
    leaf_count: FloatArray
    roots: IntArray
    depth: int
    n_features: int

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    # ------------------------------------------------------------------ decisions

    def _go_left(self, nodes: IntArray, values: FloatArray) -> NDArray[np.bool_]:
        """Whether each (node, value) pair goes left (vectorised over pairs)."""
        missing_type = self.missing_type[nodes]
        is_nan = np.isnan(values)
        numeric = np.where(is_nan & (missing_type != _MISSING_NAN), 0.0, values)
        is_default = ((missing_type == _MISSING_ZERO) & (np.abs(numeric) <= ZERO_THRESHOLD)) | (
            (missing_type == _MISSING_NAN) & np.isnan(numeric)
        )
        with np.errstate(invalid="ignore"):
            numeric_left = np.where(
                is_default, self.default_left[nodes], numeric <= self.threshold[nodes]
            )
        categorical = self.categorical[nodes]
        if not categorical.any():
            return np.asarray(numeric_left, dtype=np.bool_)
        width = self.cat_table.shape[1]
        safe = np.where(is_nan, -1.0, values)
        code = np.trunc(safe)  # static_cast<int> truncates toward zero
        usable = ~is_nan & (code >= 0) & (code < width)
        index = np.where(usable, code, 0).astype(np.int64)
        slot = np.maximum(self.cat_slot[nodes], 0)
        in_set = usable & self.cat_table[slot, index]
        return np.asarray(np.where(categorical, in_set, numeric_left), dtype=np.bool_)

    def leaves(self, x: FloatArray) -> IntArray:
        """(n, trees) leaf number reached by each row of ``x`` (n, features) in each tree."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got {x.shape}")
        n = x.shape[0]
        node = np.repeat(self.roots[None, :], n, axis=0)
        rows = np.repeat(np.arange(n)[:, None], self.n_trees, axis=1)
        for _ in range(self.depth):
            inside = node >= 0
            if not inside.any():
                break
            at = node[inside]
            values = x[rows[inside], self.feature[at]]
            node[inside] = np.where(self._go_left(at, values), self.left[at], self.right[at])
        return np.asarray(-node - 1, dtype=np.int64)

    def margin(self, x: FloatArray) -> FloatArray:
        """The raw score (sum of the leaf values of every tree) of each row of ``x``."""
        return np.asarray(self.leaf_value[self.leaves(x)].sum(axis=1), dtype=np.float64)

    # ------------------------------------------------------------------ TreeSHAP

    def _child_count(self, child: int) -> float:
        return float(self.internal_count[child] if child >= 0 else self.leaf_count[-child - 1])

    def _leaf_of(self, code: int) -> int:
        return -code - 1

    def contributions(self, row: FloatArray) -> FloatArray:
        """LightGBM's ``pred_contrib`` of one row: the contribution of each feature to the
        raw margin, then the expected value (bias) last — ``n_features + 1`` numbers."""
        row = np.asarray(row, dtype=np.float64).reshape(-1)
        phi = [0.0] * (self.n_features + 1)
        values = row.tolist()
        for t in range(self.n_trees):
            root = int(self.roots[t])
            if root < 0:
                phi[self.n_features] += float(self.leaf_value[self._leaf_of(root)])
                continue
            phi[self.n_features] += self._expected_value(root)
            self._shap(values, phi, root, [], 1.0, 1.0, -1)
        return np.asarray(phi, dtype=np.float64)

    def _tree_leaves(self, root: int) -> list[int]:
        found: list[int] = []
        stack = [root]
        while stack:
            node = stack.pop()
            for child in (int(self.left[node]), int(self.right[node])):
                if child >= 0:
                    stack.append(child)
                else:
                    found.append(self._leaf_of(child))
        return sorted(found)

    def _expected_value(self, root: int) -> float:
        total = float(self.internal_count[root])
        value = 0.0
        for leaf in self._tree_leaves(root):
            value += (float(self.leaf_count[leaf]) / total) * float(self.leaf_value[leaf])
        return value

    def _decision(self, values: list[float], node: int) -> int:
        """The child one row goes to (scalar twin of :meth:`_go_left`, for TreeSHAP)."""
        value = values[int(self.feature[node])]
        left, right = int(self.left[node]), int(self.right[node])
        if self.categorical[node]:
            if math.isnan(value) or math.trunc(value) < 0:
                return right
            code = math.trunc(value)
            width = self.cat_table.shape[1]
            inside = code < width and bool(self.cat_table[int(self.cat_slot[node]), code])
            return left if inside else right
        missing_type = int(self.missing_type[node])
        if math.isnan(value) and missing_type != _MISSING_NAN:
            value = 0.0
        if (missing_type == _MISSING_ZERO and abs(value) <= ZERO_THRESHOLD) or (
            missing_type == _MISSING_NAN and math.isnan(value)
        ):
            return left if self.default_left[node] else right
        return left if value <= float(self.threshold[node]) else right

    def _shap(
        self,
        values: list[float],
        phi: list[float],
        node: int,
        parent_path: list[list[float]],
        zero_fraction: float,
        one_fraction: float,
        feature_index: int,
    ) -> None:
        # A path element is [feature, zero_fraction, one_fraction, pweight].
        path = [list(element) for element in parent_path]
        _extend(path, zero_fraction, one_fraction, feature_index)
        depth = len(path) - 1
        if node < 0:
            leaf_value = float(self.leaf_value[self._leaf_of(node)])
            for i in range(1, depth + 1):
                w = _unwound_sum(path, i)
                element = path[i]
                phi[int(element[0])] += w * (element[2] - element[1]) * leaf_value
            return
        hot = self._decision(values, node)
        cold = int(self.right[node]) if hot == int(self.left[node]) else int(self.left[node])
        w = float(self.internal_count[node])
        hot_zero = self._child_count(hot) / w
        cold_zero = self._child_count(cold) / w
        incoming_zero = 1.0
        incoming_one = 1.0
        split = int(self.feature[node])
        index = next((k for k, element in enumerate(path) if int(element[0]) == split), None)
        if index is not None:
            incoming_zero, incoming_one = path[index][1], path[index][2]
            _unwind(path, index)
        self._shap(values, phi, hot, path, hot_zero * incoming_zero, incoming_one, split)
        self._shap(values, phi, cold, path, cold_zero * incoming_zero, 0.0, split)


def _extend(path: list[list[float]], zero: float, one: float, feature: int) -> None:
    depth = len(path)
    path.append([float(feature), zero, one, 1.0 if depth == 0 else 0.0])
    for i in range(depth - 1, -1, -1):
        path[i + 1][3] += one * path[i][3] * (i + 1) / (depth + 1)
        path[i][3] = zero * path[i][3] * (depth - i) / (depth + 1)


def _unwind(path: list[list[float]], index: int) -> None:
    depth = len(path) - 1
    one, zero = path[index][2], path[index][1]
    next_one = path[depth][3]
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = path[i][3]
            path[i][3] = next_one * (depth + 1) / ((i + 1) * one)
            next_one = tmp - path[i][3] * zero * (depth - i) / (depth + 1)
        else:
            path[i][3] = (path[i][3] * (depth + 1)) / (zero * (depth - i))
    for i in range(index, depth):
        path[i][0], path[i][1], path[i][2] = path[i + 1][0], path[i + 1][1], path[i + 1][2]
    path.pop()


def _unwound_sum(path: list[list[float]], index: int) -> float:
    depth = len(path) - 1
    one, zero = path[index][2], path[index][1]
    next_one = path[depth][3]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = next_one * (depth + 1) / ((i + 1) * one)
            total += tmp
            next_one = path[i][3] - tmp * zero * ((depth - i) / (depth + 1))
        elif zero != 0:
            total += (path[i][3] / zero) / ((depth - i) / (depth + 1))
    return total


# ---------------------------------------------------------------------- parsing


def _blocks(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header's key=value lines and each ``Tree=`` block's."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for raw in text.splitlines():
        line = raw.strip()
        if line == "end of trees":
            break
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    return header, trees


def _numbers(block: dict[str, str], key: str, kind: Any = np.float64) -> NDArray[Any]:
    text = block.get(key, "").strip()
    if not text:
        return np.zeros(0, dtype=kind)
    return np.asarray([float(v) for v in text.split()], dtype=np.float64).astype(kind)


def parse_booster(text: str) -> TreeTable:
    """Read LightGBM's text model (``Booster.model_to_string()``) into a :class:`TreeTable`.

    Only what prediction needs is read; linear trees and multi-class models are refused.
    """
    header, trees = _blocks(text)
    if header.get("num_class", "1") != "1" or header.get("num_tree_per_iteration", "1") != "1":
        raise TreeModelError("only binary models (one tree per iteration) are supported")
    if "max_feature_idx" not in header:
        raise TreeModelError("no max_feature_idx in the header")
    n_features = int(header["max_feature_idx"]) + 1
    feature: list[IntArray] = []
    threshold: list[FloatArray] = []
    decision: list[IntArray] = []
    left: list[IntArray] = []
    right: list[IntArray] = []
    internal_count: list[FloatArray] = []
    leaf_value: list[FloatArray] = []
    leaf_count: list[FloatArray] = []
    cat_slot: list[IntArray] = []
    bitsets: list[list[int]] = []
    roots: list[int] = []
    depth = 1
    nodes = leaves = 0
    for block in trees:
        if block.get("is_linear", "0") not in ("0", ""):
            raise TreeModelError("linear trees are not supported")
        n_leaves = int(block["num_leaves"])
        values = _numbers(block, "leaf_value")
        if n_leaves == 1:
            roots.append(-(leaves + 1))
            leaf_value.append(values[:1])
            leaf_count.append(np.ones(1))
            leaves += 1
            continue
        split = _numbers(block, "split_feature", np.int64)
        kinds = _numbers(block, "decision_type", np.int64)
        lefts = _numbers(block, "left_child", np.int64)
        rights = _numbers(block, "right_child", np.int64)
        thresholds = _numbers(block, "threshold")
        boundaries = _numbers(block, "cat_boundaries", np.int64)
        words = _numbers(block, "cat_threshold", np.int64)
        slots = np.full(len(split), -1, dtype=np.int64)
        for k in np.flatnonzero(kinds & _CATEGORICAL):
            cat = int(thresholds[k])
            slots[k] = len(bitsets)
            bitsets.append([int(w) for w in words[boundaries[cat] : boundaries[cat + 1]]])

        def rebase(child: IntArray, node_base: int = nodes, leaf_base: int = leaves) -> IntArray:
            return np.where(child >= 0, child + node_base, child - leaf_base).astype(np.int64)

        roots.append(nodes)
        feature.append(split)
        threshold.append(thresholds)
        decision.append(kinds)
        left.append(rebase(lefts))
        right.append(rebase(rights))
        internal_count.append(_numbers(block, "internal_count"))
        leaf_value.append(values)
        leaf_count.append(_numbers(block, "leaf_count"))
        cat_slot.append(slots)
        depth = max(depth, _depth(lefts, rights))
        nodes += len(split)
        leaves += n_leaves
    if not roots:
        raise TreeModelError("the model has no trees")
    width = max((32 * len(bitset) for bitset in bitsets), default=1)
    cat_table = np.zeros((max(len(bitsets), 1), width), dtype=np.bool_)
    for slot, bitset in enumerate(bitsets):
        for i, word in enumerate(bitset):
            bits = (word >> np.arange(32)) & 1
            cat_table[slot, 32 * i : 32 * (i + 1)] = bits.astype(np.bool_)
    kinds_all = _concat(decision, np.int64)
    return TreeTable(
        feature=_concat(feature, np.int64),
        threshold=_concat(threshold, np.float64),
        categorical=(kinds_all & _CATEGORICAL).astype(np.bool_),
        default_left=(kinds_all & _DEFAULT_LEFT).astype(np.bool_),
        missing_type=(kinds_all >> 2) & 3,
        left=_concat(left, np.int64),
        right=_concat(right, np.int64),
        cat_slot=_concat(cat_slot, np.int64),
        cat_table=cat_table,
        internal_count=_concat(internal_count, np.float64),
        leaf_value=_concat(leaf_value, np.float64),
        leaf_count=_concat(leaf_count, np.float64),
        roots=np.asarray(roots, dtype=np.int64),
        depth=depth,
        n_features=n_features,
    )


def _concat(parts: list[NDArray[Any]], kind: Any) -> NDArray[Any]:
    return np.concatenate(parts).astype(kind) if parts else np.zeros(0, dtype=kind)


def _depth(lefts: IntArray, rights: IntArray) -> int:
    """Levels of internal nodes on the longest root-to-leaf path of one tree."""
    deepest, stack = 0, [(0, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        for child in (int(lefts[node]), int(rights[node])):
            if child >= 0:
                stack.append((child, level + 1))
    return deepest
