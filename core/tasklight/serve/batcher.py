"""Dynamic batching: concurrent requests gathered into one model call.

Requests wait in an asyncio queue. One loop takes the first, then keeps taking
queued requests for up to ``max_wait_s`` or until ``max_batch_size`` inputs are
gathered, and runs them as one call on a single model thread. While that call
runs, new requests queue up and form the next batch, so under load batches fill
without waiting; an idle server adds at most ``max_wait_s`` to a lone request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Item = tuple[list[Any], "asyncio.Future[list[Any]]"]


@dataclass
class BatchStats:
    requests: int = 0
    inputs: int = 0
    model_calls: int = 0
    largest_batch: int = 0

    def as_dict(self) -> dict[str, Any]:
        mean = round(self.inputs / self.model_calls, 2) if self.model_calls else 0.0
        return {"requests": self.requests, "inputs": self.inputs, "model_calls": self.model_calls,
                "mean_batch_size": mean, "largest_batch": self.largest_batch}


class DynamicBatcher:
    """``await batcher.submit(inputs)`` returns ``predict(inputs)``, computed in a batch
    with whatever other requests arrived meanwhile."""

    def __init__(self, predict: Callable[[list[Any]], list[Any]], max_batch_size: int = 32, max_wait_s: float = 0.002) -> None:
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.predict = predict
        self.max_batch_size = max_batch_size
        self.max_wait_s = max(0.0, max_wait_s)
        self.stats = BatchStats()
        self._queue: asyncio.Queue[Item] | None = None
        self._held: Item | None = None  # a request that did not fit in the previous batch
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasklight-model")
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def submit(self, inputs: Sequence[Any]) -> list[Any]:
        if self._queue is None:
            raise RuntimeError("DynamicBatcher.start() was not called")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put((list(inputs), future))
        return await future

    async def _next_batch(self) -> list[Item]:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        first = self._held or await self._queue.get()
        self._held = None
        batch, size = [first], len(first[0])
        deadline = loop.time() + self.max_wait_s
        while size < self.max_batch_size:
            remaining = deadline - loop.time()
            try:
                if remaining > 0:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                else:
                    item = self._queue.get_nowait()  # past the wait: take only what is queued already
            except (asyncio.TimeoutError, asyncio.QueueEmpty):
                break
            if size + len(item[0]) > self.max_batch_size:
                self._held = item
                break
            batch.append(item)
            size += len(item[0])
        return batch

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            live = [(inputs, future) for inputs, future in batch if not future.cancelled()]
            if not live:
                continue
            inputs = [x for request, _ in live for x in request]
            try:
                outputs = await loop.run_in_executor(self._executor, self.predict, inputs)
                self._count(len(live), len(inputs), 1)
            except Exception as err:  # noqa: BLE001 (handed to the request)
                if len(live) == 1:
                    self._count(1, len(inputs), 1)
                    if not live[0][1].done():
                        live[0][1].set_exception(err)
                    continue
                # One request must not fail the others: run each alone and let each
                # request get its own result or error.
                for request, future in live:
                    try:
                        result = await loop.run_in_executor(self._executor, self.predict, request)
                    except Exception as err:  # noqa: BLE001 (handed to the request)
                        if not future.done():
                            future.set_exception(err)
                    else:
                        if not future.done():
                            future.set_result(result)
                    self._count(1, len(request), 1)
                continue
            start = 0
            for request, future in live:
                if not future.done():
                    future.set_result(outputs[start:start + len(request)])
                start += len(request)

    def _count(self, requests: int, inputs: int, calls: int) -> None:
        self.stats.requests += requests
        self.stats.inputs += inputs
        self.stats.model_calls += calls
        self.stats.largest_batch = max(self.stats.largest_batch, inputs)
