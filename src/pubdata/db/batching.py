"""Group commit: work submitted from many requests at once runs in batches, one transaction per batch, on one
thread per process and database. Each caller waits for its own item's outcome, so nothing is acknowledged before
it is committed; the database sees one transaction per batch instead of one per item (the metered gateway,
issue 10: on SQLite one writer at a time across the server's processes, on PostgreSQL a round trip per statement
and a log flush per commit, were what capped it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Processes a batch in the transaction of ``conn``: one outcome per item, in order — a result, or the exception
#: that item alone fails with (a refusal of one call must not fail the others).
Process = Callable[[Connection, Sequence[T]], list["R | Exception"]]


class Batcher(Generic[T, R]):
    """Runs ``process`` over the items waiting at that moment (at most ``max_batch``), committed together. The
    thread starts with the first item and ends after ``IDLE_SECONDS`` without any."""

    IDLE_SECONDS = 1.0
    #: A batch that fails as a whole (locked past SQLite's busy timeout, a dropped connection, a deadlock) is run
    #: again this many times in all before its callers get the error.
    ATTEMPTS = 5

    def __init__(self, engine: Engine, process: Process[T, R], *, name: str, max_batch: int = 200) -> None:
        self._engine = weakref.ref(engine)  # the registry below is keyed weakly by the engine
        self._process = process
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def submit(self, item: T) -> Future[R]:
        """The outcome of ``item`` once its batch is committed (or the exception it failed with). Cancelling the
        future succeeds only before the item's batch starts; a cancelled item is never processed."""
        done: Future[R] = Future()
        self._queue.put((item, done))
        with self._lock:  # after the put: a thread deciding to stop sees this item and carries on
            if not self._running:
                self._start()
        return done

    def _start(self) -> None:
        """Under ``_lock``: a new batch thread; ``_running`` only once it started (``start`` can raise)."""
        threading.Thread(target=self._run, name=f"pubdata-{self._name}", daemon=True).start()
        self._running = True

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:
            log.exception("%s: the batch thread stopped", self._name)
            with self._lock:  # let the next submit, or the items still queued, start a thread again
                self._running = False
                if not self._queue.empty():
                    self._start()
            raise

    def _loop(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self.IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # From here on a caller can no longer cancel: what starts is committed or fails as a whole.
            started = [(item, done) for item, done in batch if done.set_running_or_notify_cancel()]
            if started:
                self._commit(started)

    def _commit(self, batch: list[tuple[T, Future[R]]]) -> None:
        items = [item for item, _ in batch]
        outcomes: list[R | Exception] = []
        failure: Exception | None = None
        for attempt in range(self.ATTEMPTS):
            try:
                engine = self._engine()
                if engine is None:  # unreachable while a caller waits: it holds the engine
                    raise RuntimeError("the batch's database engine is gone")
                with engine.begin() as conn:
                    outcomes = self._process(conn, items)
                    if len(outcomes) != len(items):
                        raise RuntimeError(f"{self._name}: {len(outcomes)} outcomes for {len(items)} items")
            except DBAPIError as exc:
                if attempt < self.ATTEMPTS - 1:
                    log.warning("%s: batch of %d failed, running it again: %s", self._name, len(batch), exc.orig)
                    time.sleep(0.01 * (attempt + 1))
                    continue
                failure = exc
            except Exception as exc:  # never leave a caller waiting
                log.exception("%s: batch of %d failed", self._name, len(batch))
                failure = exc
            break
        for i, (_, done) in enumerate(batch):
            if failure is not None:
                # Each caller its own exception (re-raised in many tasks, one shared instance would collect
                # every caller's traceback); the cause is the batch's error.
                error = BatchFailed(f"{self._name}: the batch could not be committed")
                error.__cause__ = failure
                done.set_exception(error)
            elif isinstance(outcomes[i], Exception):
                done.set_exception(outcomes[i])  # type: ignore[arg-type]
            else:
                done.set_result(outcomes[i])  # type: ignore[arg-type]


class BatchFailed(Exception):
    """The item's batch failed as a whole (after its retries): nothing of it was committed."""


_batchers: weakref.WeakKeyDictionary[Engine, dict[str, Batcher]] = weakref.WeakKeyDictionary()  # type: ignore[type-arg]
_batchers_lock = threading.Lock()


def batcher(engine: Engine, name: str, process: Process[T, R], *, max_batch: int = 200) -> Batcher[T, R]:
    """This process's batcher ``name`` for ``engine``, made on first use."""
    with _batchers_lock:
        per_engine = _batchers.setdefault(engine, {})
        if name not in per_engine:
            per_engine[name] = Batcher(engine, process, name=name, max_batch=max_batch)
        return per_engine[name]
