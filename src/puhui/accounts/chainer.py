"""The deferred audit chain of a web worker: a thread that chains waiting audit rows.

A request whose session is deferred (:func:`puhui.accounts.chain.defer_chain`) commits its
audit rows unchained and wakes this worker's :class:`AuditChainer`; the chainer then runs
:func:`~puhui.accounts.chain.chain_waiting` in a short transaction of its own. It waits
``gap`` seconds between passes, so that under load one pass links the rows of many
requests, and it also passes every ``interval`` seconds unwoken, which chains rows left by
another worker that stopped between its commit and its own pass. So an audit row normally
waits ``gap`` plus one short transaction, and at most about ``interval``, to be chained
(docs/decisions.md, "Under load"; docs/consent.md).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from sqlalchemy.orm import Session, sessionmaker

from puhui.accounts.chain import BATCH, chain_waiting

log = logging.getLogger("puhui.accounts.chainer")


class AuditChainer:
    """Chains waiting audit rows of one app database in a daemon thread (one per process)."""

    def __init__(
        self, sessions: sessionmaker[Session], *, interval: float = 1.0, gap: float = 0.05
    ) -> None:
        self.sessions = sessions
        self.interval = interval
        self.gap = gap
        self.chained = 0  # rows this chainer linked (for tests and the bench)
        self.failures = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        """Rows were committed: chain them soon (starts the thread on first use)."""
        if self._thread is None:
            self._start()
        self._wake.set()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # The thread holds the chainer weakly: an app that is gone (a test's) takes
                # its chainer, and so the thread, with it.
                thread = threading.Thread(
                    target=_run, args=(weakref.ref(self),), name="puhui-audit-chainer"
                )
                thread.daemon = True
                self._thread = thread
                thread.start()

    def chain_now(self) -> int:
        """Chain everything waiting (in passes of ``BATCH``); how many rows."""
        total = 0
        while True:
            with self.sessions() as session:
                done = chain_waiting(session, limit=BATCH)
                session.commit()
            total += done
            if done < BATCH:
                break
        self.chained += total
        return total

    def _pass(self) -> bool:
        """Wait to be woken (or ``interval``), chain, pause ``gap``; False once stopped."""
        self._wake.wait(timeout=self.interval)
        self._wake.clear()
        if self._stop.is_set():
            return False
        try:
            self.chain_now()
        except Exception:  # the database away for a moment: the next pass retries
            self.failures += 1
            log.exception("audit chainer: a pass failed; retrying")
        time.sleep(self.gap)
        return not self._stop.is_set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and chain what is left (the app's shutdown; should it not run,
        another worker or the next start chains what is left)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is None:  # never woken: this process wrote no waiting row
            return
        if thread is not threading.current_thread():
            thread.join(timeout)
        self.chain_now()


def _run(chainer_ref: weakref.ref[AuditChainer]) -> None:
    while (chainer := chainer_ref()) is not None and chainer._pass():
        del chainer
