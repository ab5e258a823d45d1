"""Verified bearer tokens and page sessions kept in memory, so that a request does not read
the token, its user or client from the app database every time.

A :class:`TokenCache` (one per web app, so per worker process) maps the SHA-256 of a token
to the :class:`~puhui.accounts.actor.Actor` it resolved to, for at most
``token_cache_seconds`` and never past the token's expiry. An entry is dropped:

* at once in this process when the token is revoked (logout), its user disabled, or
  anything else that ends it goes through :func:`token_ended` / :func:`user_ended`
  (the accounts service calls them);
* at once in every other worker on PostgreSQL: the same calls send a ``NOTIFY`` on
  :data:`CHANNEL` in the ending transaction (PostgreSQL delivers it only if that commits),
  and each process listens on one connection of its own. While that listener is not
  connected the caches keep nothing, so a revocation is never missed;
* on SQLite (one machine, usually one worker) another process's revocation applies within
  ``token_cache_seconds`` at the latest.

An entry resolved from the database while an ending was being processed is not kept (a
generation counter), so a revocation cannot be overwritten by a read that started before it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor

#: The PostgreSQL notification channel of ended tokens (payload ``t:<hash>`` / ``u:<id>``).
CHANNEL = "puhui_tokens"
log = logging.getLogger("puhui.accounts.tokens")


@dataclass(frozen=True)
class _Entry:
    actor: Actor
    purpose: str
    user_id: int | None
    until: float  # TokenCache.clock()


class TokenCache:
    """Token hash → actor for a bounded time; thread-safe. ``max_age`` 0 keeps nothing."""

    def __init__(
        self,
        max_age: float,
        *,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        #: False while a PostgreSQL cache has no live listener: nothing is kept then.
        self._trusted = True
        self.hits = 0
        self.misses = 0
        _CACHES.add(self)

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, token_hash: str, purpose: str) -> Actor | None:
        entry = self._entries.get(token_hash)
        if entry is None or entry.purpose != purpose or entry.until <= self.clock():
            self.misses += 1
            return None
        self.hits += 1
        return entry.actor

    def put(
        self,
        token_hash: str,
        purpose: str,
        actor: Actor,
        expires_at: datetime,
        now: datetime,
        generation: int,
    ) -> None:
        """Keep a token just resolved (at ``now``, naive UTC) unless something ended since
        ``generation`` was read."""
        life = min(self.max_age, (expires_at - now).total_seconds())
        if life <= 0:
            return
        entry = _Entry(actor, purpose, actor.user_id, self.clock() + life)
        with self._lock:
            if not self._trusted or generation != self._generation:
                return
            self._entries[token_hash] = entry
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, token_hash: str | None = None, user_id: int | None = None) -> None:
        """Drop one token, or every token of a user, or (neither given) everything."""
        with self._lock:
            self._generation += 1
            if token_hash is None and user_id is None:
                self._entries.clear()
                return
            if token_hash is not None:
                self._entries.pop(token_hash, None)
            if user_id is not None:
                for key in [k for k, e in self._entries.items() if e.user_id == user_id]:
                    del self._entries[key]

    def _set_trusted(self, trusted: bool) -> None:
        with self._lock:
            self._generation += 1
            self._trusted = trusted
            self._entries.clear()

    # ------------------------------------------------------------------ other workers

    def listen(self, engine: Engine) -> None:
        """On PostgreSQL, follow other processes' endings; nothing is kept until this
        process's listener on that database is connected."""
        if engine.dialect.name != "postgresql" or self.max_age <= 0:
            return
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with _LISTENERS_LOCK:
            listener = _LISTENERS.get(dsn)
            if listener is None:
                listener = _LISTENERS[dsn] = _Listener(dsn)
            with self._lock:
                self._trusted = listener.connected
            listener.caches.add(self)
            if listener.thread is None:
                listener.start()


class _Listener:
    """One connection per process and database, ``LISTEN``-ing on :data:`CHANNEL` for every
    cache of that database; it ends once no cache is left."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()
        self.connected = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="puhui-token-listener")
        self.thread.daemon = True
        self.thread.start()

    def _trust(self, trusted: bool) -> None:
        self.connected = trusted
        for cache in list(self.caches):
            cache._set_trusted(trusted)

    def _run(self) -> None:
        import psycopg

        while self._wanted():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    with _LISTENERS_LOCK:
                        self._trust(True)
                    while self._wanted():
                        for note in connection.notifies(timeout=1.0):
                            with _LISTENERS_LOCK:
                                caches = list(self.caches)
                            for cache in caches:
                                _apply(cache, note.payload)
            except Exception as error:  # a lost connection: distrust, wait, connect again
                with _LISTENERS_LOCK:
                    self._trust(False)
                log.warning("token listener: %s; reconnecting", error)
                time.sleep(1.0)

    def _wanted(self) -> bool:
        """Whether a cache still listens; if none does, the listener is retired."""
        with _LISTENERS_LOCK:
            if self.caches:
                return True
            self.connected = False
            self.thread = None
            if _LISTENERS.get(self.dsn) is self:
                del _LISTENERS[self.dsn]
            return False


_LISTENERS: dict[str, _Listener] = {}
_LISTENERS_LOCK = threading.Lock()


def _apply(cache: TokenCache, payload: str) -> None:
    kind, _, value = payload.partition(":")
    if kind == "t":
        cache.forget(token_hash=value)
    elif kind == "u" and value.isdigit():
        cache.forget(user_id=int(value))
    else:
        cache.forget()


_CACHES: weakref.WeakSet[TokenCache] = weakref.WeakSet()


def _ended(session: Session, payload: str, token_hash: str | None, user_id: int | None) -> None:
    for cache in list(_CACHES):
        cache.forget(token_hash=token_hash, user_id=user_id)
    if session.get_bind().dialect.name == "postgresql":
        # Delivered to the other workers when (and only if) this transaction commits.
        session.execute(select(func.pg_notify(CHANNEL, payload)))


def token_ended(session: Session, token_hash: str) -> None:
    """A token was revoked in ``session``'s transaction: drop it from every cache."""
    _ended(session, f"t:{token_hash}", token_hash, None)


def user_ended(session: Session, user_id: int) -> None:
    """A user's tokens all ended (disabled): drop them from every cache."""
    _ended(session, f"u:{user_id}", None, user_id)
