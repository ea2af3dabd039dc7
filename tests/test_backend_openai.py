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
    """A chat-completions server that answers from a script, one step per request: an int is an error status,
    "hang" never answers, "trickle" sends its body one byte at a time, "echo-auth" is a 400 whose body echoes
    the request's headers (the key with them), a dict is sent as the 200 body, and "ok" (or an empty script)
    answers properly."""

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
                if step == "trickle":
                    self._trickle()
                    return
                if step == "echo-auth":
                    self._send(400, {"error": {"message": f"bad request; headers were {dict(self.headers)}"}})
                    return
                if isinstance(step, dict):
                    self._send(200, step)
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

            def _trickle(self) -> None:
                data = json.dumps(server.answer(self.path, body_of_trickle)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(0.1)
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args) -> None:
                pass

        body_of_trickle = {"messages": [{"role": "user", "content": "slow"}]}
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


def _http_options(server: ScriptedServer, tmp_path, **changes):
    from cgbench.harness.runner import RunOptions

    base = dict(guard="instruct", model="guard-model", backend="openai", sets=["simple_safety_tests"], limit=3)
    return RunOptions(**{**base, "base_url": server.url, "langs": ["en"], "results_dir": tmp_path, **changes})


def test_runner_over_http_never_writes_the_key(server, tmp_path, capfd):
    from cgbench.harness.runner import run

    run_dir = run(_http_options(server, tmp_path))
    assert len(server.requests) == 3 and server.auth == [f"Bearer {SECRET}"] * 3
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"predictions.jsonl", "metrics.json", "run.json"}
    assert all(SECRET not in p.read_text(encoding="utf-8") for p in written)
    captured = capfd.readouterr()
    assert SECRET not in captured.out + captured.err
    info = json.loads((run_dir / "run.json").read_text())
    assert info["backend"] == "openai" and info["model"] == "guard-model"


# -- a server that misbehaves ----------------------------------------------------------------------------------

CHAT = Prompt(messages=({"role": "user", "content": "hi"},))


def _top(logprob) -> dict:
    top = [{"token": "unsafe", "logprob": logprob}, {"token": "safe", "logprob": -0.1}]
    return {"choices": [{"message": {"content": "safe"}, "logprobs": {"content": [{"top_logprobs": top}]}}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"choices": ["safe"]}, "choices[0] is text"),
        ({"choices": []}, "no choices[0]"),
        ({"result": "safe"}, "no choices[0]"),
        ({"choices": [{"message": "safe"}]}, "choices[0].message is text"),
        ({"choices": [{"message": {"content": 7}}]}, "choices[0].message.content is int"),
        ({"choices": [{"message": {"content": [{"type": "text", "text": "x"}]}}]}, "message.content is a list"),
        (_top("-0.1"), "log-probability '-0.1'"),
        (_top(1000), "log-probability '1000'"),
        (_top(float("nan")), "log-probability 'nan'"),
        (_top(float("-inf")), "log-probability '-inf'"),
        ({"choices": [{"message": {"content": "x"}, "logprobs": {"content": "x"}}]}, "logprobs.content is text"),
    ],
)
def test_a_bad_response_shape_is_one_backend_error_naming_the_batch_item(server, body, field):
    server.script = ["ok", body]
    with pytest.raises(BackendError) as failure:
        backend(server, concurrency=1).complete([CHAT, CHAT], max_new_tokens=4, score_tokens=("unsafe", "safe"))
    message = str(failure.value)
    assert message.startswith(f"batch item 1: {server.url}/chat/completions: ") and field in message, message


def test_a_completions_response_of_the_wrong_shape_is_refused(server):
    server.script = [{"choices": [{"text": 3}]}, {"choices": [{"text": "x", "logprobs": {"top_logprobs": ["a"]}}]}]
    raw = Prompt(raw="Human user:\nhi\n\nAnswer:")
    with pytest.raises(BackendError, match=r"batch item 0: .*choices\[0\]\.text is int"):
        backend(server).complete([raw], max_new_tokens=4)
    with pytest.raises(BackendError, match=r"batch item 0: .*top_logprobs\[0\] is text"):
        backend(server).complete([raw], max_new_tokens=4, score_tokens=("unsafe", "safe"))


def test_tiny_log_probabilities_give_a_finite_score(server):
    tiny = _top(-1e6)
    tiny["choices"][0]["logprobs"]["content"][0]["top_logprobs"][1]["logprob"] = -1e6  # exp() of both is 0.0
    server.script = [_top(-1e6), tiny]
    low, even = backend(server, concurrency=1).complete([CHAT, CHAT], max_new_tokens=4, score_tokens=("unsafe", "safe"))
    assert low.score == 0.0 and even.score == 0.5


def test_a_nan_log_probability_is_never_written(server, tmp_path):
    from cgbench.harness.runner import RunOptions, run

    server.script = ["ok", "ok", _top(float("nan"))]
    options = _http_options(server, tmp_path, batch_size=1, run_id="r")
    with pytest.raises(BackendError, match="batch item 0: .*log-probability 'nan'"):
        run(options, show_tables=False)
    stored = (tmp_path / "instruct" / "r" / "predictions.jsonl").read_text()
    assert len(stored.splitlines()) == 2 and "NaN" not in stored
    run(RunOptions(**{**vars(options), "resume": True}), show_tables=False)  # the resume is not poisoned
    assert len((tmp_path / "instruct" / "r" / "predictions.jsonl").read_text().splitlines()) == 3


def test_a_huge_output_is_stored_cut_with_a_mark(server, tmp_path):
    from cgbench.harness.runner import run
    from cgbench.models.backends.openai import MAX_OUTPUT_CHARS

    huge = "unsafe\nS1 " + "x" * 3_000_000
    server.script = [{"choices": [{"text": huge}]}]  # Llama Guard 3 sends its raw prompt to /completions
    options = _http_options(server, tmp_path, guard="llama-guard-3-8b", backend=None, limit=1)
    run_dir = run(options, show_tables=False)
    (prediction,) = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert prediction["output"].startswith(huge[:MAX_OUTPUT_CHARS]) and prediction["pred"] == 1
    assert prediction["output"].endswith(
        f"[cgbench: output cut, {len(huge) - MAX_OUTPUT_CHARS} more characters not stored]"
    )
    assert (run_dir / "predictions.jsonl").stat().st_size < 2 * MAX_OUTPUT_CHARS


def test_a_trickling_server_hits_the_total_deadline(server):
    server.script = ["trickle"]
    started = time.perf_counter()
    with pytest.raises(BackendError, match="gave up after 1 attempts; last error: timed out"):
        backend(server, timeout=0.5, max_retries=0).chat([[{"role": "user", "content": "a"}]])
    assert time.perf_counter() - started < 2.0  # the body takes ~8 s at one byte per 0.1 s


def test_an_echoed_key_is_redacted_from_the_error(server, capsys):
    server.script = ["echo-auth"]
    with pytest.raises(BackendError) as failure:
        backend(server).chat([[{"role": "user", "content": "a"}]])
    message = str(failure.value)
    assert "HTTP 400" in message and "Bearer ***" in message and SECRET not in message


def test_the_path_goes_before_the_query(server):
    url = server.url + "/?api-version=2024-06-01"
    OpenAIBackend(url, "m", backoff=0.01).chat([[{"role": "user", "content": "a"}]])
    assert server.requests[-1]["path"] == "/v1/chat/completions?api-version=2024-06-01"


def test_credentials_in_the_url_are_refused_with_a_pointer_to_the_key(server):
    url = server.url.replace("http://", "http://user:hunter2@")
    with pytest.raises(
        BackendError, match=r"holds user:password@: remove it and put the API key in \$OPENAI_API_KEY"
    ) as e:
        OpenAIBackend(url, "m")
    assert "hunter2" not in str(e.value) and server.requests == []


def test_null_logprobs_content_is_no_score_not_an_error(server):
    server.script = [{"choices": [{"message": {"content": "I can't help"}, "logprobs": {"content": None}}]}]
    (done,) = backend(server).complete([CHAT], max_new_tokens=4, score_tokens=("unsafe", "safe"))
    assert done.text == "I can't help" and done.score is None


def test_the_translator_refuses_credentials_in_its_url_with_its_own_error():
    from cgbench.benchmarks.translation import TranslationError
    from cgbench.models.translators.openai import OpenAITranslator

    with pytest.raises(TranslationError, match=r"holds user:password@: .*\$OPENAI_API_KEY"):
        OpenAITranslator("m", base_url="http://u:p@127.0.0.1:9/v1")
