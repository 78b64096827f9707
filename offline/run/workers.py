"""Work spread over worker processes, one per core, each planning many stacks.

Workers are forked from the process that calls `map_unordered`, after it has imported
the program, the provider SDKs and the checks (and, for a fleet, planned its platforms):
a worker starts warm and imports nothing again. The parent freezes its heap before
forking so that neither the workers' collections nor reference counting copy its
pages. Each task runs with the collector paused; between tasks a worker collects what
the task left and freezes what survives, so that each collection scans only the last
task's objects and memory stays flat however many stacks a worker plans.

Results come back as each task finishes, not in input order: callers print them as
they arrive and sort at the end.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The task of the pool being created: set before the fork, so each worker holds it
# without pickling it (it may close over a planner with platform runs in it).
_TASK: Optional[Callable[[Any], Any]] = None
# Whether this process has run a task yet (see _run_task).
_WARM = False


def default_jobs() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _after_fork() -> None:
    global _WARM
    _WARM = False  # this worker imports the program on its first task
    # Threads do not survive a fork: the parent's event loop keeps a default executor
    # whose threads exist only in the parent, and the Pulumi SDK runs every mock call on
    # it (run_in_executor), which would wait forever here. A worker gets its own loop.
    asyncio.set_event_loop(asyncio.new_event_loop())


def _run_task(item: Any) -> Any:
    global _WARM
    assert _TASK is not None
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _TASK(item)
    finally:
        # Free what the task left, then freeze the survivors (caches): the next
        # collection scans only the next task's objects. The first task imports the
        # program and the provider SDKs; collecting then would scan every module's
        # objects (a tenth of a second, on each worker) to free one plan's leftovers
        # once, so they are frozen with the modules: a constant few MiB per worker.
        if _WARM:
            gc.collect()
        _WARM = True
        gc.freeze()
        if was_enabled:
            gc.enable()


def map_unordered(task: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[R]:
    """`task` over `items` on `jobs` worker processes (in this process when jobs is 1
    or there is only one item), yielding each result as it is ready."""
    global _TASK
    items = list(items)
    if jobs <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        _TASK = task
        try:
            for item in items:
                yield _run_task(item)
        finally:
            # What the tasks froze here is this process's to collect again.
            gc.unfreeze()
            _TASK = None
        return
    _TASK = task
    gc.collect()
    gc.freeze()
    context = multiprocessing.get_context("fork")
    pool = context.Pool(processes=min(jobs, len(items)), initializer=_after_fork)
    try:
        yield from pool.imap_unordered(_run_task, items, chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        gc.unfreeze()
        _TASK = None
