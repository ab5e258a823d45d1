"""What the accounts API sends: Pydantic models built from the domain objects."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from puhui.accounts.actor import Actor
from puhui.accounts.models import Bank, User


class BankOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str = Field(examples=["ZJRCB"])
    name: str = Field(examples=["浙江农商银行"])


class UserOut(BaseModel):
    """A user as others may see it: never the password hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    bank_code: str | None
    uscc: str | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls.model_validate(user)


class MeOut(BaseModel):
    """Who the caller is: a user or a bank's system."""

    kind: str = Field(description="user or client")
    id: str
    username: str | None
    role: str
    bank: BankOut | None
    uscc: str | None

    @classmethod
    def of(cls, actor: Actor, bank: Bank | None) -> MeOut:
        return cls(
            kind=actor.kind,
            id=actor.id,
            username=actor.username,
            role=str(actor.role),
            bank=BankOut.model_validate(bank) if bank is not None else None,
            uscc=actor.uscc,
        )


class TokenOut(BaseModel):
    """An OAuth2 access token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="seconds until the token expires", examples=[3600])
