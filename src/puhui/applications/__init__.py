"""Loan applications (issue #7): apply with consent, the open pool (抢单), six public stages
with SLAs, a notice per stage, public tracking by number. See docs/applications.md."""
