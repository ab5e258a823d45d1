"""The "my messages" page: every notice queued for the signed-in user — in-app messages and
the SMS and emails sent to them — newest first. Thin: the notices service decides who sees
what."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.accounts.actor import USER_ROLES
from puhui.notices.service import list_notices
from puhui.pagination import PageRequest
from puhui.web.deps import DbSession, PageActor
from puhui.web.i18n import N_
from puhui.web.nav import NavLink, register
from puhui.web.pagination import PageNumber
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

PAGE_SIZE = 20
CHANNEL_LABELS = {"inapp": N_("In-app"), "sms": N_("SMS"), "email": N_("Email")}
STATUS_LABELS = {
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent"),
    "dead": N_("Not delivered"),
}

register(
    NavLink(
        "/notices",
        N_("My messages"),
        roles=frozenset(USER_ROLES),
        description=N_("Notices about your applications and account"),
    )
)


@router.get("/notices", response_class=Response)
def notices_page(
    request: Request,
    actor: PageActor,
    db: DbSession,
    page: PageNumber = 1,
) -> Response:
    result = list_notices(db, actor, PageRequest(page=page, size=PAGE_SIZE))
    return render(
        request,
        "notices/notices.html",
        {
            "actor": actor,
            "notices": result.items,
            "channel_labels": CHANNEL_LABELS,
            "status_labels": STATUS_LABELS,
            "page": result.page,
            "has_next": result.page * result.size < result.total,
            "total": result.total,
        },
    )
