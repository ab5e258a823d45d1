"""Accounts: banks, users, a bank's API clients, tokens, and the audit log.

Every other domain gets its caller as an :class:`~puhui.accounts.actor.Actor` and writes
what it did on someone's behalf with :func:`~puhui.accounts.service.record`.
"""
