"""The HTTP JSON API over a loaded model (FastAPI app; uvicorn runs it).

``POST /predict`` ``{"inputs": [...]}`` -> ``{"predictions": [...]}``, ``GET /health``,
``GET /info``. Every bad request is a 4xx with ``{"detail": "<one line>"}``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import tasklight
from tasklight.errors import UserError
from tasklight.serve.batcher import DynamicBatcher

if TYPE_CHECKING:
    from tasklight.api import Model

log = logging.getLogger("tasklight.serve")


@dataclass(frozen=True)
class Limits:
    """What one request may hold; more is answered 413."""

    max_inputs: int = 64          # inputs in one request
    max_chars: int = 4096         # characters in one input (the text, or an object's string values together)
    max_body_bytes: int = 1 << 20  # the request body


@dataclass(frozen=True)
class Batching:
    max_batch_size: int = 32  # inputs in one model call
    max_wait_ms: float = 2.0  # how long a batch waits for more requests


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(model: Model, limits: Limits = Limits(), batching: Batching = Batching()) -> FastAPI:
    batcher = DynamicBatcher(
        lambda items: model.predict_many(items, where="inputs"), batching.max_batch_size, batching.max_wait_ms / 1000
    )
    info = {**model.info(), "server": {"limits": asdict(limits), "batching": asdict(batching)}}
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title=f"tasklight: {model.task}", version=tasklight.__version__, lifespan=lifespan,
        description=f"Predictions of the tasklight run {model.run_dir}.",
    )
    app.state.batcher = batcher

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"detail": message}, status_code=status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness, and how the batcher has gathered requests so far."""
        return {"status": "ok", "task": model.task, "uptime_s": round(time.time() - started, 1), "batching": batcher.stats.as_dict()}

    @app.get("/info")
    async def get_info() -> dict[str, Any]:
        """Task, model size, the run's test metrics, versions, server limits."""
        return info

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        """Body ``{"inputs": [TEXT or OBJECT, ...]}`` (what ``platform predict`` reads);
        answer ``{"predictions": [...]}`` in the same order."""
        try:
            items = parse_body(await read_body(request, limits.max_body_bytes), limits)
            model.check(items, "inputs")
        except BadRequest as bad:
            return error(bad.status, bad.message)
        except UserError as bad:
            return error(422, bad.message)
        try:
            predictions = await batcher.submit(items)
        except UserError as bad:
            return error(422, bad.message)
        except Exception as err:  # a bug, not a bad request: one line, and the traceback on demand
            log.error("internal error on /predict: %s: %s", type(err).__name__, err, exc_info=bool(os.environ.get("TASKLIGHT_DEBUG")))
            return error(500, f"internal error: {type(err).__name__}: {err}")
        return JSONResponse({"predictions": predictions})

    return app


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, f"request body of {int(declared)} bytes is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(413, f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(body: bytes, limits: Limits) -> list[Any]:
    """The inputs of a ``/predict`` body, or a BadRequest that says what is wrong."""
    if not body.strip():
        raise BadRequest(400, 'empty body: send {"inputs": [...]}')
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed JSON: the body is not UTF-8") from None
    except json.JSONDecodeError as err:
        raise BadRequest(400, f"malformed JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise BadRequest(422, 'expected a JSON object {"inputs": [...]}')
    extra = sorted(set(payload) - {"inputs"})
    if extra:
        raise BadRequest(422, f"unknown field {extra[0]!r}; the body is {{\"inputs\": [...]}}")
    inputs = payload["inputs"]
    if isinstance(inputs, (str, dict)):
        inputs = [inputs]
    if not isinstance(inputs, list):
        raise BadRequest(422, '"inputs" must be a list of texts or JSON objects')
    if not inputs:
        raise BadRequest(422, '"inputs" is empty')
    if len(inputs) > limits.max_inputs:
        raise BadRequest(413, f"{len(inputs)} inputs in one request; the limit is {limits.max_inputs}")
    for i, item in enumerate(inputs):
        if not isinstance(item, (str, dict)):
            raise BadRequest(422, f"inputs:{i + 1}: expected a text or a JSON object, got {type(item).__name__}")
        size = _chars(item)
        if size > limits.max_chars:
            raise BadRequest(413, f"inputs:{i + 1}: {size} characters; the limit is {limits.max_chars} per input")
    return inputs


def _chars(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_chars(v) for v in value.values())
    if isinstance(value, list):
        return sum(_chars(v) for v in value)
    return len(str(value))
