"""The bank service report (考核通报): banks' service times, SLA breaches, approvals, first
loans and credit loans per period, ranked; a page with charts and an Excel export."""
