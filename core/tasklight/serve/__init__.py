"""``platform serve``: a trained run behind an HTTP JSON API, with dynamic batching.

Why FastAPI + uvicorn (and not LitServe). Both were checked (LitServe 0.2.19, FastAPI
0.165, uvicorn 0.54):

- LitServe is itself FastAPI + uvicorn, plus inference worker *processes* fed through
  multiprocessing or ZeroMQ queues. On a CPU machine that costs a second copy of the
  model per worker, pickling every request and answer across processes, and seconds
  of start-up; its batching counts requests, not inputs, so one request with 64 inputs
  is one "item" of a batch.
- LitServe answers an unparseable JSON body with 500 "Internal server error" (its
  request handler turns any exception of ``request.json()`` into a 500), and any
  exception that is not an ``HTTPException`` raised in the API too. Here a bad request
  must be a 4xx with a message, never a 500.
- Neither limits the body size by default (LitServe has an opt-in ``max_payload_size``).

So: a FastAPI app whose ``/predict`` reads the body itself (streamed, with a byte limit
-> 413), parses it with a message for every way it can be wrong (400 malformed JSON, 422
wrong shape or an input the task cannot read, 413 too many or too long inputs), and
hands valid inputs to a small asyncio batcher (:mod:`tasklight.serve.batcher`) that
runs one model call at a time on one thread, with whatever requests arrived meanwhile.
uvicorn serves it on a socket bound here first, so a busy port is one clear error.
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Any

from tasklight.errors import UserError

if TYPE_CHECKING:
    from tasklight.api import Model
    from tasklight.serve.app import Batching, Limits


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a UserError that says why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise UserError(f"--host {host!r}: cannot resolve it ({err.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port} ({err.strerror})") from None
    sock.set_inheritable(True)
    return sock


def serve(model: Model, host: str = "127.0.0.1", port: int = 8000, *, limits: Limits | None = None,
          batching: Batching | None = None, log_level: str = "warning", announce: Any = None) -> None:
    """Serve ``model`` until interrupted. ``announce(url)`` is called once listening."""
    # Here, not above: FastAPI and uvicorn load only when a server starts (bind() and the
    # types of this package need neither).
    import uvicorn

    from tasklight.serve.app import Batching, Limits, create_app

    sock = bind(host, port)
    app = create_app(model, limits or Limits(), batching or Batching())
    config = uvicorn.Config(app, log_level=log_level, access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    (announce or (lambda url: print(url, file=sys.stderr)))(f"http://{shown}:{bound_port}")
    server.run(sockets=[sock])
