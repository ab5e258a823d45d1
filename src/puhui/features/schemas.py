"""What the profile API sends."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from puhui.features.service import ProfileView


class ProfileOut(BaseModel):
    """A business's published credit profile (画像). Person ids in it are masked."""

    uscc: str = Field(examples=["91331002123456788L"])
    as_of: date
    name: str
    entity_type: str
    district: str
    industry_code: str
    published_at: datetime
    document: dict[str, Any] = Field(
        description="as_of and the sections the caller may read: registration, relations, "
        "operations, assets, risk, tags, features (a bank: those its consents name)"
    )

    @classmethod
    def of(cls, view: ProfileView) -> ProfileOut:
        return cls(
            uscc=view.uscc,
            as_of=view.as_of,
            name=view.name,
            entity_type=view.entity_type,
            district=view.district,
            industry_code=view.industry_code,
            published_at=view.published_at,
            document=view.document,
        )
