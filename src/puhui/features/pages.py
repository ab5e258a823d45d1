"""Profile pages: one business's credit profile (画像) as a bank officer reads it in a minute.

Thin: the read goes through :func:`puhui.features.access.attempt_profile_read` (checked
against consent and audited); this module only shapes the document for the template and
the charts. Charts are plotly.js (served by the app) drawn from figure JSON embedded in the
page, started by one inline script carrying the page's CSP nonce.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from puhui.accounts.actor import Role
from puhui.features.access import attempt_profile_read
from puhui.features.profile import PROFILE_SECTIONS
from puhui.features.registry import features
from puhui.features.service import ProfileView
from puhui.web.deps import DbSession, PageActor
from puhui.web.i18n import N_, locale_of, translator
from puhui.web.nav import NavLink, register
from puhui.web.problems import problem_response
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

register(
    NavLink(
        "/profiles",
        N_("Credit profiles"),
        roles=frozenset(
            {
                Role.ENTERPRISE,
                Role.BANK_OFFICER,
                Role.BANK_ADMIN,
                Role.CUSTOMER_MANAGER,
                Role.GOVERNMENT,
                Role.OPERATOR,
            }
        ),
        description=N_("A business's profile: registration, relations, operations, risk"),
    )
)

#: Labels of the registration block, in the order shown.
REGISTRATION_LABELS = (
    ("uscc", N_("Unified social credit code")),
    ("name", N_("Name")),
    ("entity_type", N_("Type")),
    ("status", N_("Status")),
    ("legal_rep", N_("Legal representative")),
    ("legal_rep_id", N_("Legal representative's id (masked)")),
    ("industry_code", N_("Industry code")),
    ("registered_capital_wan", N_("Registered capital (10k yuan)")),
    ("established", N_("Established")),
    ("closed_on", N_("Closed on")),
    ("division", N_("Division")),
    ("address", N_("Address")),
)
#: Colours of the relation graph's groups (the stylesheet's brand red for the business).
GROUP_COLOURS = {
    "business": "#b3261e",
    "shareholder": "#1f6fb2",
    "representative": "#1b7f4b",
    "partner": "#8a5a00",
}


def _number(value: Any) -> float | None:
    """A series value (a decimal string for money, a number otherwise) as a float."""
    if value is None:
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _line_chart(title: str, series: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """A plotly figure (plain JSON) of monthly series: one line per (name, points)."""
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [p["period"] for p in points],
                "y": [_number(p["value"]) for p in points],
            }
            for name, points in series
        ],
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "height": 280,
            "margin": {"l": 60, "r": 10, "t": 40, "b": 40},
            "legend": {"orientation": "h", "y": -0.25},
            "xaxis": {"type": "category", "nticks": 6, "tickangle": 0},
        },
    }


def relation_nodes(document: dict[str, Any]) -> list[dict[str, str]]:
    """Everyone the business is tied to: group, name, id (masked for people) and how."""
    relations = document.get("relations", {})
    registration = document.get("registration", {})
    nodes = []
    for holder in relations.get("shareholders", []):
        nodes.append(
            {
                "group": "shareholder",
                "name": str(holder.get("name") or ""),
                "id": str(holder.get("id") or ""),
                "detail": f"{holder.get('ratio')}%",
            }
        )
    for other in relations.get("legal_rep_other_businesses", []):
        nodes.append(
            {
                "group": "representative",
                "name": str(other.get("name") or ""),
                "id": str(other.get("uscc") or ""),
                "detail": str(registration.get("legal_rep") or ""),
            }
        )
    for partner in relations.get("supply_chain_partners", []):
        nodes.append(
            {
                "group": "partner",
                "name": str(partner.get("uscc") or ""),
                "id": str(partner.get("uscc") or ""),
                "detail": str(partner.get("platform") or ""),
            }
        )
    return nodes


def relation_graph(
    name: str, nodes: list[dict[str, str]], labels: dict[str, str]
) -> dict[str, Any]:
    """A plotly figure: the business in the middle, each tie on a circle around it."""
    count = max(len(nodes), 1)
    xs = [math.cos(2 * math.pi * i / count + math.pi / 2) for i in range(len(nodes))]
    ys = [math.sin(2 * math.pi * i / count + math.pi / 2) for i in range(len(nodes))]
    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for x, y in zip(xs, ys, strict=True):
        edge_x += [0.0, x, None]
        edge_y += [0.0, y, None]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": edge_x,
            "y": edge_y,
            "line": {"color": "#c4cad3", "width": 1},
            "hoverinfo": "skip",
            "showlegend": False,
        },
        {
            "type": "scatter",
            "mode": "markers+text",
            "name": labels["business"],
            "x": [0.0],
            "y": [0.0],
            "text": [name],
            "textposition": "bottom center",
            "marker": {"size": 22, "color": GROUP_COLOURS["business"]},
        },
    ]
    for group in ("shareholder", "representative", "partner"):
        members = [i for i, node in enumerate(nodes) if node["group"] == group]
        if not members:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": labels[group],
                "x": [xs[i] for i in members],
                "y": [ys[i] for i in members],
                "text": [nodes[i]["name"] for i in members],
                "hovertext": [f"{nodes[i]['id']} {nodes[i]['detail']}" for i in members],
                "hoverinfo": "text",
                "textposition": "top center",
                "marker": {"size": 14, "color": GROUP_COLOURS[group]},
            }
        )
    hidden = {"visible": False, "range": [-1.5, 1.5]}
    return {
        "data": data,
        "layout": {
            "height": 360,
            "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
            "xaxis": hidden,
            "yaxis": hidden,
            "legend": {"orientation": "h"},
        },
    }


def profile_context(view: ProfileView, locale: str, _: Any) -> dict[str, Any]:
    """Everything the profile template shows, from the stored document."""
    document = view.document
    registration = document.get("registration", {})
    operations = document.get("operations", {})
    nodes = relation_nodes(document)
    group_labels = {
        "business": _("This business"),
        "shareholder": _("Shareholder"),
        "representative": _("Legal representative's other business"),
        "partner": _("Supply-chain partner"),
    }
    charts = {
        "relations": relation_graph(view.name, nodes, group_labels),
        "money": _line_chart(
            _("Revenue and tax paid (yuan)"),
            [
                (_("Revenue"), operations.get("revenue", [])),
                (_("Tax paid"), operations.get("tax_paid", [])),
            ],
        ),
        "headcount": _line_chart(
            _("Insured headcount"), [(_("Insured"), operations.get("insured", []))]
        ),
        "utilities": _line_chart(
            _("Electricity (kWh) and water (m³)"),
            [
                (_("Electricity (kWh)"), operations.get("electricity_kwh", [])),
                (_("Water (m³)"), operations.get("water_m3", [])),
            ],
        ),
    }
    values = document.get("features", {})
    feature_rows = [
        {
            "name": feature.name,
            "section": block.section,
            "description": feature.zh if locale == "zh_CN" else feature.en,
            "value": _shown(values.get(feature.name)),
        }
        for block, feature in features()
    ]
    return {
        "profile": view,
        "registration": [(label, registration.get(key)) for key, label in REGISTRATION_LABELS],
        "nodes": nodes,
        "group_labels": group_labels,
        "charts": charts,
        "has_operations": any(operations.get(k) for k in operations),
        "assets": document.get("assets", {}).get("property", []),
        "risk": document.get("risk", {}),
        "tags": document.get("tags", {}),
        "feature_rows": feature_rows,
    }


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


@router.get("/profiles", response_class=Response)
def profiles(request: Request, actor: PageActor, uscc: str | None = None) -> Response:
    """A business goes to its own profile; anyone else looks one up by its uscc."""
    wanted = (uscc or "").strip().upper()
    if not wanted and actor.role is Role.ENTERPRISE and actor.uscc:
        wanted = actor.uscc
    if wanted:
        return RedirectResponse(f"/profiles/{quote(wanted, safe='')}", status_code=303)
    return render(request, "features/lookup.html", {"actor": actor})


@router.get("/profiles/{uscc}", response_class=Response)
def profile_page(request: Request, uscc: str, actor: PageActor, db: DbSession) -> Response:
    read = attempt_profile_read(db, actor, uscc)
    error = read.error
    if error is not None:
        # Answered, not raised: the audit row of the refused read is committed.
        detail = error.message_zh if locale_of(request) == "zh_CN" else error.message_en
        status = getattr(error, "http_status", 400)
        return problem_response(request, status, detail=detail, translate_detail=False)
    assert read.profile is not None
    context = profile_context(read.profile, locale_of(request), translator(request))
    context.update(
        {
            "actor": actor,
            "basis": read.basis,
            "shown": read.sections,
            "section_count": len(PROFILE_SECTIONS),
        }
    )
    return render(request, "features/profile.html", context)
