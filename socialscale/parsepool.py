"""Parsing untrusted payloads in child processes with a memory and a time limit.

feedparser's loose parser expands internal entities and has regexes that are quadratic on
hostile input, so a single feed can ask for gigabytes or minutes. Each worker runs with
RLIMIT_AS; the parent waits with a deadline and kills a worker that overruns, so one hostile
feed costs one clean error and the pull goes on. Two workers also put both cores to work.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from socialscale.errors import ParseError

DEFAULT_TIME_LIMIT_S = 30.0
DEFAULT_MEMORY_BUDGET = 1024 * 1024 * 1024  # address space a worker may add on top of what it starts with
WORKER_MODULES = ["socialscale.sources.parsing"]


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _call(target: str, args: tuple[Any, ...]) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


def _worker(conn: Connection, memory_budget: int, prepare: tuple[str, tuple[Any, ...]] | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops
    if prepare is not None:
        try:
            _call(*prepare)
        except Exception:  # noqa: BLE001, S110 - a worker that could not prepare still parses; the caller does the rest
            pass
    try:
        import resource

        limit = _address_space() + memory_budget
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not on Linux: the time limit still applies
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        target, args = message
        try:
            reply: tuple[str, Any] = ("ok", _call(target, args))
        except MemoryError:
            reply = ("memory", f"needed more than the {memory_budget // 2**20} MiB memory limit for parsing "
                               "(fetch.parse_memory)")
        except RecursionError:
            reply = ("error", "nested too deeply to parse")
        except ParseError as exc:
            reply = ("error", str(exc))
        except Exception as exc:  # noqa: BLE001 - any parser failure is this payload's error, not ours
            reply = ("error", f"could not parse ({type(exc).__name__}: {exc})")
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("error", "result too large to return from the parser"))


class _Worker:
    def __init__(self, ctx: Any, memory_budget: int, prepare: tuple[str, tuple[Any, ...]] | None = None) -> None:
        parent, child = ctx.Pipe()
        self.conn: Connection = parent
        self.process = ctx.Process(target=_worker, args=(child, memory_budget, prepare), daemon=True)
        try:
            self.process.start()
        except BaseException:
            parent.close()  # no worker: nothing will ever read this end
            raise
        finally:
            child.close()

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(timeout=5)
        finally:
            self.conn.close()


class ParsePool:
    """A few long-lived parser processes; `await pool.run("module:function", *args)`.

    `prepare` ("module:function", args) is called in each worker as it starts, before any payload (the
    pull gives the workers its rules this way, once, rather than with every feed); should it fail, the
    worker parses all the same."""

    def __init__(self, workers: int | None = None, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET, prepare: tuple[str, tuple[Any, ...]] | None = None,
                 ) -> None:
        self.size = max(1, workers or os.cpu_count() or 2)
        self.prepare = prepare
        self.time_limit_s = time_limit_s
        self.memory_budget = memory_budget
        # forkserver: workers are forked from a clean, single-threaded server that has already
        # imported feedparser, not from this process with its event loop and threads.
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        self._ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            self._ctx.set_forkserver_preload(WORKER_MODULES)
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []

    def _spawn(self) -> _Worker:
        worker = _Worker(self._ctx, self.memory_budget, self.prepare)
        self._all.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        self._all.remove(worker)
        return self._spawn()

    async def run(self, target: str, *args: Any) -> Any:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._idle.put_nowait(self._spawn())
        worker = await self._idle.get()
        try:
            status, value = await self._exchange(worker, target, args)
        except asyncio.TimeoutError:
            worker = self._replace(worker)
            raise ParseError(f"parsing took longer than {self.time_limit_s:.0f}s; stopped (fetch.parse_timeout)") from None
        except (EOFError, OSError):
            worker = self._replace(worker)
            raise ParseError("the parser process died on this payload (memory limit?)") from None
        except BaseException:
            worker = self._replace(worker)  # cancelled mid-task: its answer must not reach the next caller
            raise
        else:
            if status == "memory":  # a heap that hit its limit may stay fragmented: start afresh
                worker = self._replace(worker)
        finally:
            self._idle.put_nowait(worker)
        if status in ("error", "memory"):
            raise ParseError(value)
        return value

    async def _exchange(self, worker: _Worker, target: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = worker.conn.fileno()
        worker.conn.send((target, args))

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(ready, self.time_limit_s)
        finally:
            loop.remove_reader(fd)
        reply: tuple[str, Any] = worker.conn.recv()
        return reply

    def close(self) -> None:
        for worker in self._all:
            try:
                worker.conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        for worker in self._all:
            worker.process.join(timeout=1)
            if worker.process.is_alive():
                worker.process.kill()
            worker.conn.close()
        self._all.clear()
        self._idle = None
