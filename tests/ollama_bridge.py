"""An Ollama-protocol front for the real llama.cpp server, for tests only.

Ollama itself cannot be installed here (it is not on PyPI, Debian or npm), so the `ollama` mode is
tested against this bridge: it speaks Ollama's `POST /api/chat` (NDJSON stream) and forwards to
llama.cpp's OpenAI-compatible `/v1/chat/completions`, so the text is the real model's output.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


def make_bridge(upstream: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path != "/api/chat":
                self.send_error(404, f"only /api/chat is bridged, not {self.path}")
                return
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            options = request.get("options") or {}
            body = {"model": request["model"], "messages": request["messages"], "stream": True,
                    "temperature": options.get("temperature", 0.0),
                    "max_tokens": options.get("num_predict", 64)}
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            with httpx.stream("POST", f"{upstream}/chat/completions", json=body, timeout=120) as response:
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    if delta:
                        self._emit({"message": {"role": "assistant", "content": delta}, "done": False},
                                   request["model"])
            self._emit({"message": {"role": "assistant", "content": ""}, "done": True,
                        "done_reason": "stop"}, request["model"])

        def _emit(self, payload: dict, model: str) -> None:
            payload = {"model": model, "created_at": datetime.now(UTC).isoformat(), **payload}
            self.wfile.write((json.dumps(payload) + "\n").encode())
            self.wfile.flush()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
