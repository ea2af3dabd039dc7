"""How fast a language is added: importing a release folder, and translating through an OpenAI-compatible
server on 127.0.0.1 (the translator's own overhead: the server answers at once), cold and from the cache.
The translated language is `qaa` (ISO 639 "reserved for local use"): no script check applies to the echo.

    python perf/bench_add_language.py

Needs the data (``$CGBENCH_DATA_DIR`` or the download cache). Works in a temporary ``$CGBENCH_HOME`` and
cache. Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class EchoTranslator(BaseHTTPRequestHandler):
    """Answers every chat request with the text to translate, prefixed: no model time at all."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        text = body["messages"][1]["content"].split("\n\n", 1)[1]
        payload = json.dumps({"choices": [{"message": {"content": f"अनुवाद {text}"}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def main() -> None:
    from cgbench.benchmarks import BENCHMARKS, load_split
    from cgbench.benchmarks.add_language import add_language
    from cgbench.benchmarks.loading import _load, release_path
    from cgbench.models.translators import get_translator

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CGBENCH_HOME"] = str(Path(tmp) / "home")
        os.environ["CGBENCH_CACHE_DIR"] = str(Path(tmp) / "cache")
        rows = sum(len(load_split(b, "en")) for b in BENCHMARKS)

        folder = release_path("toxicchat", "bn").parent
        start = time.perf_counter()
        add_language("as", from_dir=folder, progress=False)
        imported = time.perf_counter() - start

        server = ThreadingHTTPServer(("127.0.0.1", 0), EchoTranslator)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        timings = {}
        for label, force in (("cold", False), ("cached", True)):
            _load.cache_clear()
            start = time.perf_counter()
            translator = get_translator("openai:echo", base_url=base_url)
            added = add_language("qaa", translator=translator, force=force, progress=False)
            timings[label] = (time.perf_counter() - start, added.translated)
        server.shutdown()

    print(f"rows per language: {rows}")
    print(f"import (--from-dir, validate, write, read back): {imported:.2f} s, {rows / imported:.0f} rows/s")
    cold, texts = timings["cold"]
    cached, _ = timings["cached"]
    print(
        f"openai translator, cold: {cold:.2f} s for {texts} texts, {texts / cold:.0f} texts/s (8 concurrent requests)"
    )
    print(f"openai translator, from the cache: {cached:.2f} s ({cold / cached:.1f}x faster than cold)")


if __name__ == "__main__":
    main()
