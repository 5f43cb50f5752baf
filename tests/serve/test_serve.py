"""``platform serve``: a real uvicorn server on a free loopback port, good and bad requests."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import tasklight
from click.testing import CliRunner
from tasklight.cli import cli
from tasklight.serve import bind
from tasklight.serve.app import Batching, Limits, create_app

from tests.conftest import TINY

TEXTS = [
    "wake me up at seven tomorrow", "what's the weather in paris", "play some jazz",
    "set a timer for ten minutes", "remind me to call mom", "how hot is it outside",
    "turn the volume down", "add milk to my shopping list",
]
LIMITS = Limits(max_inputs=8, max_chars=300, max_body_bytes=6000)


@pytest.fixture(scope="module")
def intent_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny intent run (seconds): a classifier's answers do not depend on batching order."""
    out = tmp_path_factory.mktemp("serve") / "intent"
    result = CliRunner().invoke(cli, ["run", "intent", "--max-steps", "10", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def model(intent_run: Path) -> tasklight.Model:
    return tasklight.load(intent_run)


class ThreadServer:
    """uvicorn serving an app on a free loopback port in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = bind("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        assert not self.thread.is_alive()


@pytest.fixture(scope="module")
def server(model: tasklight.Model) -> Iterator[ThreadServer]:
    with ThreadServer(create_app(model, LIMITS, Batching(max_batch_size=16, max_wait_ms=5))) as running:
        yield running


def call(port: int, method: str, path: str, body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def test_health_and_info(server: ThreadServer, intent_run: Path) -> None:
    status, health = call(server.port, "GET", "/health")
    assert status == 200 and health["status"] == "ok" and health["task"] == "intent"
    status, info = call(server.port, "GET", "/info")
    assert status == 200
    record = json.loads((intent_run / "metrics.json").read_text())
    assert info["task"] == {"name": "intent", "version": record["task"]["version"], "shape": "encoder-only"}
    assert info["model"]["parameters"] == record["model"]["parameters"] > 0
    assert info["metrics"] == record["metrics"] and info["primary_metric"] == "accuracy"
    assert info["versions"]["tasklight"] == tasklight.__version__ and info["versions"]["torch"]
    assert info["server"]["limits"] == {"max_inputs": 8, "max_chars": 300, "max_body_bytes": 6000}


def test_predict_one_and_many_equal_the_python_api(server: ThreadServer, model: tasklight.Model) -> None:
    status, body = call(server.port, "POST", "/predict", {"inputs": TEXTS[:3]})
    assert status == 200
    assert body == {"predictions": [model.predict(t) for t in TEXTS[:3]]}
    assert set(body["predictions"][0]) == {"text", "label", "probability", "alternatives"}
    status, body = call(server.port, "POST", "/predict", {"inputs": [{"text": TEXTS[0]}]})
    assert status == 200 and body["predictions"] == [model.predict(TEXTS[0])]
    status, body = call(server.port, "POST", "/predict", {"inputs": TEXTS[1]})  # a lone input is a list of one
    assert status == 200 and body["predictions"] == [model.predict(TEXTS[1])]


@pytest.mark.parametrize(("raw", "status", "message"), [
    (b'{"inputs": ["play jazz"', 400, "malformed JSON: Expecting ',' delimiter at line 1 column 24"),
    (b"\xff\xfe{}", 400, "malformed JSON: the body is not UTF-8"),
    (b"", 400, 'empty body: send {"inputs": [...]}'),
    (b'["play jazz"]', 422, 'expected a JSON object {"inputs": [...]}'),
    (b'{"input": ["play jazz"]}', 422, 'expected a JSON object {"inputs": [...]}'),
    (b'{"inputs": ["play jazz"], "top_k": 3}', 422, "unknown field 'top_k'; the body is {\"inputs\": [...]}"),
    (b'{"inputs": 5}', 422, '"inputs" must be a list of texts or JSON objects'),
    (b'{"inputs": []}', 422, '"inputs" is empty'),
    (b'{"inputs": ["play jazz", 5]}', 422, "inputs:2: expected a text or a JSON object, got int"),
    (b'{"inputs": [{"question": "who?"}]}', 422, "inputs:1: expected a field 'text'"),
    (b'{"inputs": ["   "]}', 422, "inputs:1: empty input"),
    (json.dumps({"inputs": ["hi"] * 9}).encode(), 413, "9 inputs in one request; the limit is 8"),
    (json.dumps({"inputs": ["ok", "x" * 301]}).encode(), 413, "inputs:2: 301 characters; the limit is 300 per input"),
    (json.dumps({"inputs": [{"text": "y" * 400}]}).encode(), 413, "inputs:1: 400 characters; the limit is 300 per input"),
    (b" " * 6001, 413, "request body of 6001 bytes is over the limit of 6000 bytes"),
])
def test_bad_requests_get_4xx_with_a_message(server: ThreadServer, raw: bytes, status: int, message: str) -> None:
    got, body = call(server.port, "POST", "/predict", raw=raw)
    assert (got, body) == (status, {"detail": message})


def test_a_body_streamed_past_the_limit_is_413(server: ThreadServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", "/predict", body=iter([b'{"inputs": ["', b"z" * 7000, b'"]}']), encode_chunked=True)
    response = conn.getresponse()
    assert (response.status, json.loads(response.read())) == (413, {"detail": "request body is over the limit of 6000 bytes"})
    conn.close()


def test_unknown_routes_are_4xx(server: ThreadServer) -> None:
    assert call(server.port, "GET", "/predict")[0] == 405
    assert call(server.port, "POST", "/nowhere", {"inputs": ["x"]}) == (404, {"detail": "Not Found"})


def test_400_concurrent_requests_all_answered_correctly_in_batches(server: ThreadServer, model: tasklight.Model) -> None:
    expected = {text: model.predict(text) for text in TEXTS}
    before = call(server.port, "GET", "/health")[1]["batching"]

    def one(i: int) -> tuple[str, int, Any]:
        text = TEXTS[i % len(TEXTS)]
        status, body = call(server.port, "POST", "/predict", {"inputs": [text]})
        return text, status, body

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(400)))
    assert [status for _, status, _ in answers] == [200] * 400
    wrong = [text for text, _, body in answers if body != {"predictions": [expected[text]]}]
    assert wrong == []
    after = call(server.port, "GET", "/health")[1]["batching"]
    assert after["requests"] - before["requests"] == 400
    assert after["largest_batch"] > 1  # concurrent requests shared model calls
    assert after["model_calls"] - before["model_calls"] < 400


def test_bad_run_dir_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--run", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {tmp_path / 'missing'}: no such run directory"]


def test_a_busy_port_is_one_line_and_exit_2(intent_run: Path) -> None:
    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["serve", "--run", str(intent_run), "--port", str(port)])
        assert result.exit_code == 2
        assert result.output.strip().splitlines()[-1].startswith(f"Error: cannot listen on 127.0.0.1:{port} (")
    finally:
        taken.close()


def test_platform_serve_process_answers_and_stops(intent_run: Path, model: tasklight.Model) -> None:
    """The real command in its own process: binds 127.0.0.1 by default, serves, stops on Ctrl-C."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tasklight", "serve", "--run", str(intent_run), "--port", "0", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stderr is not None
        seen, match = [], None
        while match is None and len(seen) < 50:
            seen.append(proc.stderr.readline())  # "" once the process has ended
            match = re.search(r"Serving intent from .* on http://127\.0\.0\.1:(\d+) \(Ctrl-C stops\)", seen[-1])
            if not seen[-1]:
                break
        assert match, "".join(seen)
        port = int(match.group(1))
        assert call(port, "GET", "/health")[1]["status"] == "ok"
        assert call(port, "POST", "/predict", {"inputs": TEXTS[:2]}) == (200, {"predictions": model.predict(TEXTS[:2])})
        assert call(port, "POST", "/predict", raw=b"{oops")[0] == 400
        status, body = call(port, "POST", "/predict", {"inputs": ["hi"] * 65})
        assert (status, body) == (413, {"detail": "65 inputs in one request; the limit is 64"})
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0
