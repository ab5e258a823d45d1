"""``puhui audit verify``: walk the platform's hash chains and check the consent projection.

Two chains — the audit log and the consent ledger — are walked entry by entry and every
hash recomputed (:func:`puhui.accounts.chain.verify_chain`); the ``consents`` table is
then compared with what the ledger implies (:func:`puhui.consent.ledger.check_projection`).
The first break of each is reported, in Chinese and English. The CLI and the tests share
:func:`verify_chains`; it only reads. Audit rows that wait to be chained (the deferred
chain of web requests, :mod:`puhui.accounts.chainer`) are counted beside the audit log;
the CLI chains them (:func:`chain_waiting_rows`) before it verifies.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from puhui.accounts.chain import AUDIT, BATCH, Break, ChainReport, chain_waiting, verify_chain
from puhui.consent.ledger import LEDGER, ProjectionReport, check_projection
from puhui.errors import PuhuiError

#: How each part is named in a report: (Chinese, English).
NAMES = {
    "audit": ("审计日志", "audit log"),
    "consent": ("授权账本", "consent ledger"),
    "consents": ("授权现状", "consents"),
}


@dataclass(frozen=True)
class VerifyReport:
    """Both chains and the projection: each intact or with its first break."""

    audit: ChainReport
    consent: ChainReport
    projection: ProjectionReport

    @property
    def ok(self) -> bool:
        return self.audit.ok and self.consent.ok and self.projection.ok

    @property
    def breaks(self) -> list[Break]:
        found = (self.audit.broken, self.consent.broken, self.projection.broken)
        return [item for item in found if item is not None]

    def lines(self) -> list[tuple[bool, str]]:
        """One line per part, Chinese then English, and whether that part is intact."""
        out = []
        for report in (self.audit, self.consent):
            zh, en = NAMES[report.chain]
            if report.broken is None:
                text = (
                    f"{zh}完整：{report.entries:,} 条，链头第 {report.head_seq} 条 "
                    f"({en} intact: {report.entries:,} entries, head seq {report.head_seq})"
                )
                if report.waiting:
                    since = f"{report.oldest_waiting_at:%Y-%m-%d %H:%M:%S} UTC"
                    text += (
                        f"；另有 {report.waiting:,} 条待链入，最早写于 {since} "
                        f"({report.waiting:,} more wait to be chained, the oldest written "
                        f"{since})"
                    )
            else:
                text = f"{zh}已损坏 ({en} broken): {report.broken}"
            out.append((report.broken is None, text))
        zh, en = NAMES["consents"]
        if self.projection.broken is None:
            count = self.projection.consents
            text = f"{zh}与账本一致：{count:,} 条 ({en} match the ledger: {count:,})"
        else:
            text = f"{zh}与账本不符 ({en} differ from the ledger): {self.projection.broken}"
        out.append((self.projection.broken is None, text))
        return out


def verify_chains(session: Session) -> VerifyReport:
    """Verify the audit chain, the consent ledger and the consent projection."""
    if not inspect(session.connection()).has_table(LEDGER.table.name):
        raise PuhuiError(
            "应用数据库尚无授权账本，请先运行 puhui db upgrade",
            "the app database has no consent ledger yet: run puhui db upgrade first",
        )
    return VerifyReport(
        audit=verify_chain(session, AUDIT),
        consent=verify_chain(session, LEDGER),
        projection=check_projection(session),
    )


def chain_waiting_rows(session: Session) -> int:
    """Chain every audit row still waiting (in the caller's transaction); how many."""
    total = 0
    while (done := chain_waiting(session, AUDIT, limit=BATCH)) == BATCH:
        total += done
    return total + done
