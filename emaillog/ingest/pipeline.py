"""Running the two halves of an ingest: in one process, or in two.

With two, a forked child reads, parses and correlates while the parent
writes, batch by batch through a pipe (the parent alone holds the database;
the child leaves through os._exit, so nothing of the parent's SQLite
connection is touched). A small input, or one that needs the database
while parsing (tracking tokens), runs in one process.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import threading
import traceback

from . import BATCH_LINES
from .parse import Parsing

PARALLEL_BYTES = 8 * 1024 * 1024


class ParsingFailed(RuntimeError):
    """The parsing process died; its traceback is the message."""


def _parallel(jobs) -> bool:
    forced = os.environ.get("EMAILLOG_PARALLEL")
    if forced in ("0", "1"):
        return forced == "1" and not any(getattr(j.module, "NEEDS_LOOKUP", False) for j in jobs)
    if any(getattr(j.module, "NEEDS_LOOKUP", False) for j in jobs) or (os.cpu_count() or 1) < 2:
        return False
    return sum(j.remaining for j in jobs) >= PARALLEL_BYTES


def run_jobs(jobs, states: dict, ingest) -> None:
    # The ingest makes millions of small objects and no reference cycles: the
    # cyclic collector would spend a sixth of the time finding nothing.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _run_jobs(jobs, states, ingest)
    finally:
        if was_enabled:
            gc.enable()


def _run_jobs(jobs, states: dict, ingest) -> None:
    by_index = {j.index: j for j in jobs}
    if not _parallel(jobs):
        parsing = Parsing(ingest.config, states, BATCH_LINES, lookup=ingest.store.send_by_message_id)
        for batch in parsing.run(jobs):
            batch.job = by_index[batch.job]
            ingest.write(batch)
        return
    import multiprocessing
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, receiver, ingest.config, states, jobs), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                batch = pickle.loads(receiver.recv_bytes())
            except EOFError:
                raise ParsingFailed("the parsing process ended early") from None
            if batch is None:
                break
            if isinstance(batch, str):
                raise ParsingFailed(batch)
            batch.job = by_index[batch.job]
            ingest.write(batch)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


def _die_with_parent() -> None:
    """The child holds the parent's lock file open: when the parent is
    killed, the child must go too (Linux prctl PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _child(sender, receiver, config, states, jobs) -> None:
    receiver.close()  # else a full pipe whose reader died would block for ever
    _die_with_parent()
    if os.getppid() == 1:
        return
    # A thread sends while the next batch is parsed: a send waits for the
    # writer to finish the batch before, and parsing need not wait with it.
    outbox: queue.Queue = queue.Queue(maxsize=2)

    def post() -> None:
        while (data := outbox.get()) is not None:
            try:
                sender.send_bytes(data)
            except OSError:
                return

    poster = threading.Thread(target=post, daemon=True)
    poster.start()

    def send(item) -> None:
        outbox.put(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))

    try:
        parsing = Parsing(config, states, BATCH_LINES)
        for batch in parsing.run(jobs):
            send(batch)
        send(None)
    except BaseException:  # noqa: BLE001 - the parent reports it
        send(traceback.format_exc())
    finally:
        outbox.put(None)
        poster.join()
        sender.close()
