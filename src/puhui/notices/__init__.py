"""Notices: SMS, email and in-app messages queued in an outbox and delivered by a worker."""
