"""Test data for profiles: a published ``Profile`` row shaped like the pipeline's documents
(see :mod:`puhui.features.profile`), with person ids masked as the pipeline masks them."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from puhui.features.models import Profile
from puhui.features.registry import features
from puhui.identifiers import uscc_check_char

AS_OF = date(2026, 1, 15)


def uscc(number: int) -> str:
    """A valid uscc (check character included) for test business ``number``."""
    body = f"91331002{number:09d}"
    return body + uscc_check_char(body)


def _series(start: float, step: float, money: bool = True) -> list[dict[str, Any]]:
    points = []
    for i in range(24):
        year, month = divmod(2023 * 12 + 12 + i, 12)  # 2024-01 … 2025-12
        value = start + step * i
        points.append(
            {"period": f"{year}-{month + 1:02d}", "value": f"{value:.2f}" if money else value}
        )
    return points


def profile_document(code: str, name: str) -> dict[str, Any]:
    """A document with every section filled once, as the warehouse builds it."""
    values: dict[str, Any] = {}
    for _block, feature in features():
        values[feature.name] = (
            "coop" if feature.kind == "category" else 0 if feature.kind == "flag" else 1.5
        )
    return {
        "as_of": AS_OF.isoformat(),
        "registration": {
            "uscc": code, "name": name, "entity_type": "company", "legal_rep": "王丽",
            "legal_rep_id": "3310**********1234", "industry_code": "5191",
            "registered_capital_wan": "100.0000", "established": "2018-03-02",
            "status": "active", "closed_on": None, "division": "331002",
            "address": "浙江省台州市椒江区解放路1号", "lon": 121.4, "lat": 28.6,
        },
        "relations": {
            "shareholders": [
                {"name": "王丽", "kind": "person", "id": "3310**********1234", "ratio": 60.0,
                 "subscribed_wan": "60.0000"},
                {"name": "台州某投资有限公司", "kind": "company", "id": uscc(900),
                 "ratio": 40.0, "subscribed_wan": "40.0000"},
            ],
            "legal_rep_other_businesses": [
                {"uscc": uscc(901), "name": "椒江区王丽小吃店", "status": "active"}
            ],
            "supply_chain_partners": [{"uscc": uscc(902), "platform": "台州产业链金融平台"}],
        },
        "operations": {
            "revenue": _series(200000, 1000), "tax_paid": _series(2000, 10),
            "insured": _series(10, 0, money=False),
            "electricity_kwh": _series(1200.5, 3, money=False),
            "water_m3": _series(50, 1, money=False),
        },
        "assets": {"property": [
            {"cert_no": "浙（2020）台州市不动产权第00000001号", "kind": "commercial",
             "area_m2": 120.5, "value": "1500000.00", "mortgaged": True,
             "mortgagee": "浙江民泰商业银行"},
        ]},
        "risk": {
            "penalties_36m": [
                {"decision_no": "椒罚决字〔2025〕00000001号", "authority": "椒江区应急管理局",
                 "decided_on": "2025-05-17", "kind": "fine", "amount": "5100.00",
                 "serious": False},
            ],
            "court": [
                {"case_no": "（2025）浙1002民初00000001号", "role": "defendant",
                 "filed_on": "2025-10-28", "amount": "33200.00", "closed_on": None},
            ],
            "abnormal": [
                {"listed_on": "2025-06-02", "reason": "通过登记的住所或者经营场所无法联系",
                 "removed_on": "2025-09-01"},
            ],
            "arrears_12m": [{"period": "2025-11", "source": "tax", "amount": "436.94"}],
        },
        "tags": {
            "honours": [{"tag": "科技型中小企业", "year": 2025}], "carbon_grade": 2,
            "industry_code": "5191", "policy_lists": [],
        },
        "features": values,
    }  # fmt: skip


def make_profile(session: Session, code: str, name: str = "台州测试贸易有限公司") -> Profile:
    row = Profile(
        uscc=code,
        as_of=AS_OF,
        name=name,
        entity_type="company",
        district="331002",
        industry_code="5191",
        document=json.dumps(profile_document(code, name), ensure_ascii=False),
        published_at=datetime(2026, 1, 16, 8, 0),
    )
    session.add(row)
    session.flush()
    return row
