"""Every domain's tables, imported in one place so that Alembic and tests see the whole schema."""

from __future__ import annotations


def import_all_models() -> None:
    """Import each domain's ``models`` module; their tables register on ``Base.metadata``."""
    import puhui.accounts.models
    import puhui.applications.models
    import puhui.consent.models
    import puhui.decisions.models
    import puhui.features.models
    import puhui.govlists.models
    import puhui.market.models
    import puhui.notices.models
    import puhui.reference.models
    import puhui.scoring.models  # noqa: F401
