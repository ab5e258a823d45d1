"""App-database tables of the scoring domain: the model registry."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base

#: Who a model belongs to when it is not one bank's own (一行一模型).
PLATFORM = "platform"


class ModelVersion(Base):
    """One trained model: a scorecard or a LightGBM challenger, for the platform or a bank.

    ``artefact`` is the model's readable JSON (points table and bins, or the booster's
    text model with its calibration), exactly as fitted; ``fingerprint`` is its sha256.
    ``training_fingerprint`` identifies the samples it was fitted on. Each owner has at
    most one champion; a new model starts as a challenger (the first one as champion)
    and ``puhui model promote`` swaps them.
    """

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_owner_status", "owner", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # scorecard | lightgbm
    status: Mapped[str] = mapped_column(String(16))  # champion | challenger | retired
    as_of: Mapped[date] = mapped_column(Date)  # trained on loans that started before it
    created_at: Mapped[datetime] = mapped_column(DateTime)
    metrics: Mapped[str] = mapped_column(Text)  # JSON: per sample n, bads, AUC, Gini, KS …
    training_fingerprint: Mapped[str] = mapped_column(String(64))
    training_rows: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    artefact: Mapped[str] = mapped_column(Text)
