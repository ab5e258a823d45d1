"""The fixed vocabularies of applications: stages, profile sections, roles in transitions.

Codes are stored; labels are for pages, the API, notices and the tracking page (Chinese
and English).
"""

from __future__ import annotations

SUBMITTED = "submitted"
ACCEPTED = "accepted"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
DECLINED = "declined"
CONTRACT_SIGNED = "contract_signed"
DISBURSED = "disbursed"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"

#: Every stage an application can be in, with its labels.
STAGES: dict[str, tuple[str, str]] = {
    SUBMITTED: ("已提交", "submitted"),
    ACCEPTED: ("已受理", "accepted"),
    UNDER_REVIEW: ("审查中", "under review"),
    APPROVED: ("已审批通过", "approved"),
    DECLINED: ("未获批准", "declined"),
    CONTRACT_SIGNED: ("已签约", "contract signed"),
    DISBURSED: ("已放款", "disbursed"),
    WITHDRAWN: ("已撤回", "withdrawn"),
    EXPIRED: ("已过期", "expired"),
}

#: The six public stages, in order, as the tracker shows them. ``declined`` takes the
#: place of ``approved`` (and ends the application there).
PUBLIC_STAGES: tuple[str, ...] = (
    SUBMITTED,
    ACCEPTED,
    UNDER_REVIEW,
    APPROVED,
    CONTRACT_SIGNED,
    DISBURSED,
)

#: Stages after which nothing happens any more.
FINAL_STAGES: frozenset[str] = frozenset({DECLINED, DISBURSED, WITHDRAWN, EXPIRED})

#: What the SMS of each stage says after the application number (Chinese first).
NOTICE_TEXT: dict[str, str] = {
    SUBMITTED: "已提交，等待银行受理",
    ACCEPTED: "已由{bank}受理",
    UNDER_REVIEW: "{bank}已开始审查",
    APPROVED: "已获{bank}审批通过，请尽快签约",
    DECLINED: "未获{bank}批准",
    CONTRACT_SIGNED: "已签约，等待{bank}放款",
    DISBURSED: "{bank}已放款",
    WITHDRAWN: "已撤回",
    EXPIRED: "因超过办理时限已过期",
}


def label(vocabulary: dict[str, tuple[str, str]], code: str, locale: str) -> str:
    """The label of ``code`` in ``locale`` (zh_CN or en); the code itself if unknown."""
    pair = vocabulary.get(code)
    if pair is None:
        return code
    return pair[0] if locale == "zh_CN" else pair[1]
