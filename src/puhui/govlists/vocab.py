"""The fixed vocabularies of government lists: kinds and statuses (codes stored, labels shown).

A list's *kind* also says which product policy-list code it feeds in matching
(:data:`KIND_POLICY_CODES`): a product that wants 专精特新 businesses (``specialized``) finds
them on the honours feed *and* on a 专精特新 list pushed to its bank.
"""

from __future__ import annotations

import re

#: What a list is for: 科技型 / 专精特新 / 首贷 targets / 重点支持 / other.
KINDS: dict[str, tuple[str, str]] = {
    "tech": ("科技型企业", "technology-based businesses"),
    "srdi": ("专精特新", "specialised and innovative (SRDI)"),
    "first_loan": ("首贷培育", "first-loan targets"),
    "key_support": ("重点支持", "key support"),
    "other": ("其他", "other"),
}

#: A list's life: drafted, pushed to at least one bank, archived (no longer served).
DRAFT, PUSHED, ARCHIVED = "draft", "pushed", "archived"
STATUSES: dict[str, tuple[str, str]] = {
    DRAFT: ("草稿", "draft"),
    PUSHED: ("已推送", "pushed"),
    ARCHIVED: ("已归档", "archived"),
}

#: The product policy-list code each kind feeds (``None``: only by the list's own code).
KIND_POLICY_CODES: dict[str, str | None] = {
    "tech": "tech_sme",
    "srdi": "specialized",
    "first_loan": "first_loan",
    "key_support": "key_support",
    "other": None,
}

#: Policy-list codes a product may require that only government lists fill.
GOVERNMENT_POLICY_CODES: dict[str, tuple[str, str]] = {
    "first_loan": ("首贷培育名单", "first-loan target list"),
    "key_support": ("重点支持名单", "key support list"),
}

#: A product requires one list by ``list:<code>``.
LIST_PREFIX = "list:"
#: A list's code: letters, digits, ``_ . -``; 1 to 32 characters.
CODE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}"
_CODE = re.compile(rf"^{CODE_PATTERN}$")


def valid_code(code: str) -> bool:
    return bool(_CODE.match(code))


def label(table: dict[str, tuple[str, str]], code: str, locale: str) -> str:
    """The Chinese (``zh_CN``) or English label of ``code``; the code itself if unknown."""
    found = table.get(code)
    if found is None:
        return code
    return found[0] if locale == "zh_CN" else found[1]
