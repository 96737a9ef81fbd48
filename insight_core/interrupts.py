"""Stopping a run on SIGINT or SIGTERM: the signal becomes an exception, except where the
publication is being committed.

The process that runs the flow (the CLI) installs :func:`install` for both signals. The first
signal raises :class:`RunInterrupted` in the main thread, wherever it is; the flow records the
run as cancelled and cleans up like after a crash. Inside :func:`shielded` (the few moments in
which the published warehouse file is swapped) the signal is held and raised when the block
ends, so a publication is either complete or never happened. Later signals are ignored
while the first one is being handled: cleaning up takes seconds, and a second Ctrl-C must not
cut the recording of the first short (kill -9 remains, and the next run records that).

Nothing here imports Prefect: the flow decides what a cancelled run means to Prefect.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(BaseException):
    """The run was asked to stop by a signal.

    A ``BaseException``, like ``KeyboardInterrupt``: ``except Exception`` blocks (and the
    tasks' retries) must not take it for a failure to recover from.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.signal_name}")

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal (130 for SIGINT)."""
        return 128 + self.signum


# Reentrant: the handler runs in the main thread, possibly while that thread holds the lock
# in shielded().
_lock = threading.RLock()
_shield_depth = 0
_pending: int | None = None  # a signal that came while shielded
_received: int | None = None  # the first stop signal of this process
_installed = False
_raised = threading.Event()  # the handler has raised RunInterrupted
# Bumped by restore(): a delivery thread of an earlier install must not send its signal into
# the next one (it may not have seen _raised before restore() cleared it).
_generation = 0


def stop_requested() -> bool:
    """Has this process been asked to stop (so retrying a failed task is pointless)?"""
    return _received is not None


def received_signal() -> int | None:
    """The first stop signal this process received, if any."""
    return _received


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending, _received
    with _lock:
        first = _received is None
        if first:
            _received = signum
        if _shield_depth > 0:
            if first:
                _pending = signum
                log.warning("%s: stopping once the publication is committed", _name(signum))
            return
    if not first:
        log.warning("%s ignored: the run is already stopping", _name(signum))
        return
    _raised.set()
    raise RunInterrupted(signum)


def _name(signum: int) -> str:
    return signal.Signals(signum).name


def install() -> dict[int, Any]:
    """Make SIGINT and SIGTERM stop the run; returns the previous handlers (main thread only)."""
    global _installed
    previous: dict[int, Any] = {
        int(signum): signal.signal(signum, _handler) for signum in STOP_SIGNALS
    }
    _installed = True
    return previous


def reclaim() -> None:
    """Install the handlers again where :func:`install` was called before and a library has
    since replaced them (Prefect puts its own SIGTERM handler around a flow run). A no-op in
    processes that did not install them (a Prefect worker) or outside the main thread."""
    if not _installed or threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signal.getsignal(signum) is not _handler:
            signal.signal(signum, _handler)


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced and forget any signal received."""
    global _installed, _received, _pending, _generation
    with _lock:
        _generation += 1
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    with _lock:
        _installed = False
        _received = None
        _pending = None
    _raised.clear()


@contextlib.contextmanager
def handling_stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`RunInterrupted` within the block."""
    previous = install()
    try:
        yield
    finally:
        restore(previous)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold a stop signal until the block ends (the swap of a published file).

    Any thread may enter; the signal itself is always handled in the main thread, so keep the
    block short: a stop waits for it.
    """
    global _shield_depth, _pending, _received
    with _lock:
        _shield_depth += 1
    try:
        yield
    finally:
        with _lock:
            _shield_depth -= 1
            pending = _pending if _shield_depth == 0 else None
            if pending is not None:
                _pending = _received = None
        if pending is not None:
            _deliver_to_main_thread(pending)


def _deliver_to_main_thread(signum: int) -> None:
    """Send ``signum`` again, now unshielded, to the main thread itself, so that a main thread
    waiting on a lock wakes up to raise it.

    From another thread the signal may land just before the main thread starts to wait, and
    be handled only when the wait ends; so it is repeated until the handler has run.
    """
    main = threading.main_thread().ident
    assert main is not None
    _raised.clear()
    signal.pthread_kill(main, signum)
    if threading.current_thread() is threading.main_thread():
        return

    generation = _generation

    def repeat() -> None:
        for _ in range(100):  # 20 s at most: a main thread that long in C code is stuck
            if _raised.wait(0.2):
                return
            with _lock:
                if _generation != generation:
                    return  # the handlers were restored: that stop is over
                signal.pthread_kill(main, signum)

    threading.Thread(target=repeat, name="deliver-stop-signal", daemon=True).start()
