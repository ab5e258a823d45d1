"""Test data for decisions: a hand-made scorecard whose PD a test chooses, a clean feature
vector, profiles and registered models in the app database."""

from __future__ import annotations

import itertools
import json
import math
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from puhui.decisions.engine import ModelSpec
from puhui.features.models import Profile
from puhui.features.registry import features as registry_features
from puhui.scoring.models import ModelVersion
from puhui.scoring.scorecard import (
    INTERVAL,
    MISSING,
    NUMERICAL,
    Bin,
    Scorecard,
    ScorecardParams,
    Variable,
)

AS_OF = date(2026, 6, 30)
_ids = itertools.count(9000)

#: The hand-made scorecard's one variable (no policy or refer rule reads it): its value
#: chooses the PD — below 0 → :data:`PD_HIGH`, [0, 1) → :data:`PD_GREY`, 1 or more (or
#: missing) → :data:`PD_LOW`.
DIAL = "electricity_trend_3m"
HIGH, GREY, LOW = -1.0, 0.5, 2.0
_POINTS = {HIGH: 450.0, GREY: 515.0, LOW: 600.0}


def pd_of_points(points: float) -> float:
    """PD of a score on the default scale (600 points at odds 50, 40 to double)."""
    log_odds = math.log(50) + (points - 600) * math.log(2) / 40
    return 0.5 * (1.0 - math.tanh(log_odds / 2.0))


PD_HIGH, PD_GREY, PD_LOW = (pd_of_points(_POINTS[v]) for v in (HIGH, GREY, LOW))


def dial_card() -> Scorecard:
    """A scorecard of one variable with three bins: a test sets :data:`DIAL` to choose PD."""

    def interval(lower: float | None, upper: float | None, points: float) -> Bin:
        return Bin(f"[{lower}, {upper})", INTERVAL, lower, upper, (), 10, 1, 0.1, 0.0, 0.0, points)

    bins = (
        interval(None, 0.0, _POINTS[HIGH]),
        interval(0.0, 1.0, _POINTS[GREY]),
        interval(1.0, None, _POINTS[LOW]),
        Bin("Missing", MISSING, None, None, (), 0, 0, 0.0, 0.0, 0.0, _POINTS[LOW]),
    )
    variable = Variable(DIAL, NUMERICAL, 0.3, -1.0, "descending", bins)
    card = Scorecard(
        version="1",
        params=ScorecardParams(),
        variables=(variable,),
        intercept=0.0,
        target="bad",
        bad_value="1",
        selection=(),
    )
    return card.sealed()


def dial_spec(model_id: int = 1) -> ModelSpec:
    card = dial_card()
    return ModelSpec(model_id, "scorecard", card.to_json(), card.fingerprint)


def clean_features(**overrides: Any) -> dict[str, Any]:
    """Every registry feature, for an established enterprise that passes every knock-out
    and refer rule: monthly revenue 200,000, no debt, low PD (:data:`LOW`)."""
    row: dict[str, Any] = {}
    for _, feature in registry_features():
        row[feature.name] = None if feature.kind == "category" else 0
    row.update(
        {
            "age_years": 6.0,
            "entity_type": "enterprise",
            "industry_code": "5211",
            "industry_division": "52",
            "district": "331002",
            "revenue_avg_12m": 200_000.0,
            "revenue_avg_3m": 210_000.0,
            "revenue_trend_12m": 0.02,
            "revenue_volatility_12m": 0.3,
            "tax_months_reported_12m": 12,
            "taxpayer_grade_latest": "B",
            "insured_latest": 8,
            "loans_prior": 1,
            "carbon_grade_latest": 3,
            DIAL: LOW,
        }
    )
    row.update(overrides)
    return row


def make_profile(
    session: Session,
    uscc: str,
    features: dict[str, Any],
    *,
    as_of: date = AS_OF,
    published_at: datetime | None = None,
) -> Profile:
    """A published profile holding ``features`` (the rest of the document left out)."""
    profile = Profile(
        uscc=uscc,
        as_of=as_of,
        name=f"测试企业 {uscc[-4:]}",
        entity_type=str(features.get("entity_type") or ""),
        district=str(features.get("district") or "331002"),
        industry_code=str(features.get("industry_code") or ""),
        document=json.dumps({"as_of": as_of.isoformat(), "features": features}),
        published_at=published_at or datetime(2026, 7, 1, 8, 0, 0),
    )
    session.add(profile)
    session.flush()
    return profile


def register(
    session: Session, spec: ModelSpec, status: str = "champion", owner: str = "platform"
) -> ModelVersion:
    model = ModelVersion(
        owner=owner,
        kind=spec.kind,
        status=status,
        as_of=AS_OF,
        created_at=datetime(2026, 7, 1),
        metrics="{}",
        training_fingerprint="test",
        training_rows=1,
        fingerprint=spec.fingerprint or "test",
        artefact=spec.artefact,
    )
    session.add(model)
    session.flush()
    return model
