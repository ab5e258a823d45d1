"""The links a home page shows, per role: each domain registers its own pages here.

In a domain's ``pages.py``::

    register(NavLink("/market/products", N_("Financing supermarket"),
                     roles=frozenset({Role.ENTERPRISE})))

``label`` is an English source string (add it to the catalogues); ``roles`` empty means all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from puhui.accounts.actor import Actor, Role
from puhui.web.i18n import N_


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    description: str | None = None

    def visible_to(self, actor: Actor) -> bool:
        return not self.roles or actor.role in self.roles


_links: list[NavLink] = []


def register(link: NavLink) -> None:
    if link not in _links:
        _links.append(link)


def links_for(actor: Actor) -> list[NavLink]:
    return [link for link in _links if link.visible_to(actor)]


# What exists today.
register(
    NavLink("/api/v1/docs", N_("API documentation"), description=N_("Endpoints for banks' systems"))
)
register(
    NavLink(
        "/api/v1/users",
        N_("Users (JSON)"),
        roles=frozenset({Role.OPERATOR, Role.BANK_ADMIN}),
        description=N_("The users you may see"),
    )
)
register(NavLink("/api/v1/me", N_("My account (JSON)")))
