"""The fixed vocabularies of products: guarantees, statuses, targets and policy lists.

Codes are stored; labels are for pages and the API (Chinese and English).
"""

from __future__ import annotations

#: How a loan is secured: 信用 / 保证 / 抵押 / 质押.
GUARANTEES: dict[str, tuple[str, str]] = {
    "credit": ("信用", "credit (unsecured)"),
    "guarantee": ("保证", "guarantee"),
    "mortgage": ("抵押", "mortgage"),
    "pledge": ("质押", "pledge"),
}

#: A product's life: drafted by its bank, published to the market, withdrawn from it.
DRAFT, PUBLISHED, WITHDRAWN = "draft", "published", "withdrawn"
STATUSES: dict[str, tuple[str, str]] = {
    DRAFT: ("草稿", "draft"),
    PUBLISHED: ("已上架", "published"),
    WITHDRAWN: ("已下架", "withdrawn"),
}

#: Entity types as the features hold them (``features.entity_type``).
ENTITY_TYPES: dict[str, tuple[str, str]] = {
    "enterprise": ("企业", "enterprise"),
    "individual": ("个体工商户", "individual business"),
    "coop": ("农民专业合作社", "farmers' cooperative"),
}

#: Tiers as the scoring policy assigns them (``scores.tier``).
TIERS: dict[str, tuple[str, str]] = {
    "survival": ("生存型", "survival"),
    "growth": ("成长型", "growth"),
    "development": ("发展型", "development"),
}

#: Policy lists a product may target from the honours feed, and the feature (a 0/1 flag as
#: of the date) that says a business is on the list. Government lists pushed to the
#: product's bank add to them (``puhui.govlists``): a 专精特新 list feeds ``specialized``, a
#: 科技型 list ``tech_sme``; ``first_loan`` and ``key_support`` are filled by government lists
#: of those kinds only, and ``list:<code>`` by that one list.
POLICY_LISTS: dict[str, tuple[str, str, str]] = {
    "specialized": ("honor_specialized", "专精特新", "specialised and innovative"),
    "high_tech": ("honor_high_tech", "高新技术企业", "high-tech enterprise"),
    "tech_sme": ("honor_tech_sme", "科技型中小企业", "technology-based SME"),
    "contract": ("honor_contract", "守合同重信用", "contract-abiding and trustworthy"),
}


def label(table: dict[str, tuple[str, str]], code: str, locale: str) -> str:
    """The Chinese (``zh_CN``) or English label of ``code`` in ``table``; the code if unknown."""
    found = table.get(code)
    if found is None:
        return code
    return found[0] if locale == "zh_CN" else found[1]


def policy_list_label(code: str, locale: str) -> str:
    from puhui.govlists.vocab import GOVERNMENT_POLICY_CODES, LIST_PREFIX

    found = POLICY_LISTS.get(code)
    if found is not None:
        return found[1] if locale == "zh_CN" else found[2]
    if code in GOVERNMENT_POLICY_CODES:
        return label(GOVERNMENT_POLICY_CODES, code, locale)
    if code.startswith(LIST_PREFIX):
        name = code.removeprefix(LIST_PREFIX)
        return f"政府名单 {name}" if locale == "zh_CN" else f"government list {name}"
    return code
