"""Who is acting: one small value every service that works on someone's behalf takes.

An ``Actor`` is built once per request (from a bearer token or the page session) or per CLI
command, and never from client-supplied fields. Which rows an actor may see is decided by
one narrowing function per domain (see :func:`puhui.accounts.service.visible_users`), not by
``if`` checks in endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """The roles of a user. ``BANK_SYSTEM`` is the role of a bank's API client, never a user's."""

    ENTERPRISE = "enterprise"
    BANK_OFFICER = "bank_officer"
    BANK_ADMIN = "bank_admin"
    CUSTOMER_MANAGER = "customer_manager"
    GOVERNMENT = "government"
    OPERATOR = "operator"
    BANK_SYSTEM = "bank_system"


#: Roles a user account may have.
USER_ROLES: tuple[Role, ...] = (
    Role.ENTERPRISE,
    Role.BANK_OFFICER,
    Role.BANK_ADMIN,
    Role.CUSTOMER_MANAGER,
    Role.GOVERNMENT,
    Role.OPERATOR,
)
#: Roles that act for one bank and may only see that bank's data.
BANK_ROLES: frozenset[Role] = frozenset({Role.BANK_OFFICER, Role.BANK_ADMIN, Role.BANK_SYSTEM})
#: Roles whose account must name a bank (a customer manager works for one bank's branch).
ROLES_WITH_BANK: frozenset[Role] = BANK_ROLES | {Role.CUSTOMER_MANAGER}

ActorKind = Literal["user", "client", "system"]


@dataclass(frozen=True)
class Actor:
    """A user, a bank's system (API client), or the platform itself (a CLI command).

    ``id`` is the user's id as text, the client's ``client_id``, or a name for ``system``.
    """

    kind: ActorKind
    id: str
    role: Role
    bank_code: str | None = None
    uscc: str | None = None
    username: str | None = None

    @classmethod
    def system(cls, name: str = "cli") -> Actor:
        """The platform acting on its own (an operator at the command line, a worker)."""
        return cls(kind="system", id=name, role=Role.OPERATOR)

    @property
    def is_bank(self) -> bool:
        """Acts for one bank (officer, admin or the bank's system): sees that bank's data only."""
        return self.role in BANK_ROLES

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    @property
    def is_enterprise(self) -> bool:
        return self.role is Role.ENTERPRISE

    @property
    def user_id(self) -> int | None:
        """The user's id, or None for a client or the system."""
        return int(self.id) if self.kind == "user" else None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles
