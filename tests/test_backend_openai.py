"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cgbench.models.backends.base import BackendError
from cgbench.models.backends.openai import OpenAIBackend
from cgbench.models.guards.base import Prompt

SECRET = "sk-test-5f1c0ffee-never-written"


class ScriptedServer:
    """A chat-completions server that answers from a script: ints are error statuses, "hang" never answers."""

    def __init__(self) -> None:
        self.script: list[int | str] = []
        self.requests: list[dict] = []
        self.auth: list[str | None] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append({"path": self.path, **body})
                    server.auth.append(self.headers.get("Authorization"))
                    step = server.script.pop(0) if server.script else "ok"
                if step == "hang":
                    time.sleep(3)
                    return
                if isinstance(step, int):
                    self._send(step, {"error": {"message": f"scripted {step}"}})
                    return
                self._send(200, server.answer(self.path, body))

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def answer(path: str, body: dict) -> dict:
        if path.endswith("/completions") and "prompt" in body:
            return {
                "choices": [
                    {
                        "text": "unsafe\nS2",
                        "logprobs": {"top_logprobs": [{"unsafe": math.log(0.8), " safe": math.log(0.2)}]},
                    }
                ]
            }
        last = body["messages"][-1]["content"]
        choice = {"message": {"role": "assistant", "content": f"echo: {last}"}}
        if body.get("logprobs"):
            top = [{"token": "unsafe", "logprob": math.log(0.25)}, {"token": "safe", "logprob": math.log(0.75)}]
            choice["logprobs"] = {"content": [{"token": "safe", "logprob": math.log(0.75), "top_logprobs": top}]}
        return {"choices": [choice]}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def backend(server: ScriptedServer, **kwargs) -> OpenAIBackend:
    return OpenAIBackend(server.url, "guard-model", **{"backoff": 0.01, **kwargs})


def test_chat_in_order_with_bounded_concurrency(server):
    conversations = [[{"role": "user", "content": f"q{i}"}] for i in range(20)]
    replies = backend(server, concurrency=3).chat(conversations, temperature=0.7, max_tokens=5)
    assert replies == [f"echo: q{i}" for i in range(20)]
    assert all(r["temperature"] == 0.7 and r["max_tokens"] == 5 for r in server.requests)
    assert server.auth == [f"Bearer {SECRET}"] * 20


def test_complete_scores_from_first_token_logprobs(server):
    prompts = [Prompt(messages=({"role": "user", "content": "hi"},)), Prompt(raw="Human user:\nhi\n\nAnswer:")]
    chat, raw = backend(server).complete(prompts, max_new_tokens=4, score_tokens=("unsafe", "safe"))
    assert chat.text == "echo: hi" and chat.score == pytest.approx(0.25)
    assert raw.text == "unsafe\nS2" and raw.score == pytest.approx(0.8)
    assert sorted(r["path"] for r in server.requests) == ["/v1/chat/completions", "/v1/completions"]
    assert all(r["temperature"] == 0.0 and r["max_tokens"] == 4 for r in server.requests)


def test_complete_without_score_tokens_has_no_score(server):
    (done,) = backend(server).complete([Prompt(messages=({"role": "user", "content": "x"},))], max_new_tokens=2)
    assert done.score is None and "logprobs" not in server.requests[0]


@pytest.mark.parametrize("status", [429, 500])
def test_retries_then_succeeds(server, status):
    server.script = [status, status]
    assert backend(server).chat([[{"role": "user", "content": "a"}]]) == ["echo: a"]
    assert len(server.requests) == 3


def test_client_error_is_not_retried(server):
    server.script = [400]
    with pytest.raises(BackendError, match="HTTP 400: scripted 400"):
        backend(server).chat([[{"role": "user", "content": "a"}]])
    assert len(server.requests) == 1


def test_hang_times_out_with_a_clear_error(server, caplog, capsys):
    server.script = ["hang", "hang"]
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    with pytest.raises(BackendError) as failure:
        backend(server, timeout=0.3, max_retries=1).chat([[{"role": "user", "content": "a"}]])
    assert time.perf_counter() - started < 2.5
    message = str(failure.value)
    assert "gave up after 2 attempts" in message and "timed out" in message and server.url in message
    captured = capsys.readouterr()
    assert SECRET not in message + caplog.text + captured.out + captured.err
    assert SECRET not in repr(backend(server)) and SECRET not in str(vars(backend(server)))


def test_no_key_sends_no_authorization(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    backend(server).chat([[{"role": "user", "content": "a"}]])
    assert server.auth == [None]


def test_runner_over_http_never_writes_the_key(server, tmp_path, capfd):
    from cgbench.harness.runner import RunOptions, run

    options = RunOptions(
        guard="instruct",
        model="guard-model",
        backend="openai",
        base_url=server.url,
        sets=["simple_safety_tests"],
        langs=["en"],
        limit=3,
        results_dir=tmp_path,
    )
    run_dir = run(options)
    assert len(server.requests) == 3 and server.auth == [f"Bearer {SECRET}"] * 3
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"predictions.jsonl", "metrics.json", "run.json"}
    assert all(SECRET not in p.read_text(encoding="utf-8") for p in written)
    captured = capfd.readouterr()
    assert SECRET not in captured.out + captured.err
    info = json.loads((run_dir / "run.json").read_text())
    assert info["backend"] == "openai" and info["model"] == "guard-model"
