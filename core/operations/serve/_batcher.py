"""Adaptive micro-batching (after Triton's dynamic batcher and Ray Serve's @serve.batch): requests that arrive
together are predicted together, in one call of the model, in a pool of worker threads off the event loop.

At most one batch per worker is in flight. While every worker is busy, requests queue and the next batch takes
all of them (up to max_rows): batches grow with the load, so throughput does. When a worker is free, the batch
waits at most max_wait after its first request for others to join, then goes (0, the default: at once).
A request is never split: one larger than max_rows goes alone."""
from __future__ import annotations

import asyncio
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable


def default_workers() -> int:
    """One prediction thread per core this process may run on (LightGBM and NumPy release the GIL)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class Batcher:
    def __init__(self, predict: Callable[[list], list], *, max_rows: int, max_wait_ms: float, workers: int,
                 on_batch: Callable[[int], None] = lambda n: None):
        self.predict, self.max_rows, self.max_wait = predict, max_rows, max_wait_ms / 1000
        self.workers, self.on_batch = workers, on_batch
        self.queue: deque = deque()  # (rows, future, arrived)
        self.queued_rows = 0
        self.pool: ThreadPoolExecutor | None = None
        self.task: asyncio.Task | None = None
        self.in_flight: set = set()

    def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.pool = ThreadPoolExecutor(self.workers, thread_name_prefix="serve-predict")
        self.slots = asyncio.Semaphore(self.workers)
        self.arrived = asyncio.Event()
        self.full = asyncio.Event()
        self.task = self.loop.create_task(self._run())

    async def submit(self, rows: list):
        """The prediction for one request's rows (or the InputError refusing them)."""
        future = self.loop.create_future()
        self.queue.append((rows, future, self.loop.time()))
        self.queued_rows += len(rows)
        self.arrived.set()
        if self.queued_rows >= self.max_rows:
            self.full.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self.slots.acquire()
            while not self.queue:
                self.arrived.clear()
                await self.arrived.wait()
            wait = self.queue[0][2] + self.max_wait - self.loop.time()
            if self.queued_rows < self.max_rows and wait > 0:
                self.full.clear()
                try:
                    await asyncio.wait_for(self.full.wait(), wait)
                except asyncio.TimeoutError:
                    pass
            batch, rows = [], 0
            while self.queue and (not batch or rows + len(self.queue[0][0]) <= self.max_rows):
                item = self.queue.popleft()
                batch.append(item)
                rows += len(item[0])
            self.queued_rows -= rows
            if self.queued_rows < self.max_rows:
                self.full.clear()
            self.on_batch(len(batch))
            done = self.loop.run_in_executor(self.pool, self.predict, [item[0] for item in batch])
            self.in_flight.add(done)
            done.add_done_callback(lambda f, batch=batch: self._deliver(f, batch))

    def _deliver(self, done: asyncio.Future, batch: list) -> None:
        self.in_flight.discard(done)
        self.slots.release()
        error = done.exception()
        for k, (_, future, _) in enumerate(batch):
            if future.done():  # the client went away
                continue
            if error is not None:
                future.set_exception(error)
            else:
                result = done.result()[k]
                future.set_exception(result) if isinstance(result, Exception) else future.set_result(result)

    async def stop(self) -> None:
        """Finish what was queued, then stop the workers."""
        while self.queue or self.in_flight:
            await asyncio.sleep(0.005)
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass
        if self.pool is not None:
            self.pool.shutdown(wait=True)


