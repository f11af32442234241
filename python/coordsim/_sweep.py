"""Sweeps with Python policies: the runs go to worker processes (a
``concurrent.futures`` executor: by default a process pool of one worker per core, or any
executor given, a Dask cluster's included), which each run one key of the plan and write
its run file; the Rust sweep assembles the files as it always does, so the results are the
same whatever ran where.

Ctrl-C: the workers ignore SIGINT and finish the runs they hold; no new run starts; the runs
written stay, and ``resume=True`` completes the sweep to identical tables.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _coordsim

Key = Tuple[int, int, int]


@dataclass(frozen=True)
class SweepJob:
    """What a worker needs to run keys of one sweep (picklable)."""

    path: str
    out: str
    policies: Tuple[str, ...]
    specs: Dict[int, Any]
    agents: Tuple[Any, ...] = ()
    agents_toml: Optional[str] = None
    set: Tuple[str, ...] = ()


# One plan per sweep per worker process: building it validates every cell, so it is done once.
_WORKERS: Dict[Tuple[str, Tuple[str, ...], Optional[str], Tuple[str, ...]], Any] = {}


def run_key(job: SweepJob, key: Key) -> Key:
    """Runs one key of the sweep in this process and writes its run file."""
    ident = (job.path, job.policies, job.agents_toml, job.set)
    worker = _WORKERS.get(ident)
    if worker is None:
        worker = _WORKERS[ident] = _coordsim.SweepWorker(job.path, list(job.policies), job.agents_toml, list(job.set))
    worker.run(tuple(key), job.out, job.specs.get(key[1]), list(job.agents))
    return key


def _ignore_interrupts() -> None:
    # The parent decides what Ctrl-C stops; a worker finishes the run it holds.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_executor(jobs: Optional[int]) -> Executor:
    """One worker process per core (or ``jobs``). On Linux the workers are forked, so
    policies defined in a notebook or a script work; elsewhere they are spawned, and policy
    classes must be importable from a module."""
    workers = jobs or os.cpu_count() or 1
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_interrupts)
    # Start the workers now, from this thread, before the sweep's own threads exist.
    list(pool.map(_noop, range(workers)))
    return pool


def _noop(_: int) -> None:
    return None


def make_runner(executor: Executor, job: SweepJob):
    """The ``runner(keys, watch)`` the Rust sweep calls with each batch of keys."""

    def runner(keys: List[Key], watch: Any) -> None:
        pending: set = set()
        queue = list(keys)
        # Keep the executor a little ahead of its workers, so a Ctrl-C leaves few runs queued.
        ahead = max(2, 2 * _workers(executor))

        def fill() -> None:
            while queue and len(pending) < ahead and not watch.cancelled():
                pending.add(executor.submit(run_key, job, queue.pop(0)))

        fill()
        try:
            while pending:
                done, still = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                pending.clear()
                pending.update(still)
                for future in done:
                    future.result()  # a worker that died: stop the sweep with its error
                if done:
                    watch.add_done(len(done))
                if watch.cancelled():
                    for future in pending:
                        future.cancel()
                    wait([f for f in pending if not f.cancelled()])
                    return
                fill()
        except BaseException:
            for future in pending:
                future.cancel()
            raise

    return runner


def _workers(executor: Executor) -> int:
    count = getattr(executor, "_max_workers", None)
    if isinstance(count, int) and count > 0:
        return count
    return os.cpu_count() or 1
