"""Run a learner's web app (Flask, FastAPI) as a real HTTP server for a test cell, and always stop it.

Deployment notebooks should test an API the way its users will meet it: over HTTP, through
a real socket, with real concurrency, not only through ``app.test_client()``. The grader's
test cells run inside the learner's sandbox, whose network namespace has only its own
loopback interface, so the server and the client must both live in that kernel: this
module starts the server on ``127.0.0.1`` in a background thread of the kernel and the
test cell talks to it from the same kernel. Nothing here decides a grade: the test cell
reports what it observed (status codes, JSON bodies, predictions) with ``check``, and the
grader compares those values outside the kernel.

Usage in a test cell::

    with serve(create_app("model.joblib")) as url:
        status, body = request_json(url + "/health")

The same call serves a WSGI app (Flask, with werkzeug's server) or an ASGI app (FastAPI,
Starlette, with uvicorn, the server FastAPI deploys on). The ``with`` block guarantees the
server is shut down and its port released, even when an assert inside the block fails, so
a failing cell never leaves a thread serving behind it.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

HOST = "127.0.0.1"
"""Loopback only: the sandbox has no other interface, and nothing should listen wider."""
POLL_INTERVAL = 0.05
"""How often the serving loop looks for a shutdown request, in seconds (stopping is fast)."""
JOIN_TIMEOUT = 5.0
"""How long to wait for the serving thread to end after shutdown, in seconds."""

_JSON = "application/json"


def _silence_request_log() -> None:
    # werkzeug logs one line per request to stderr; a correct test cell must write nothing there.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


START_TIMEOUT = 10.0
"""How long an ASGI server may take to start accepting connections, in seconds."""


def is_asgi(app: Any) -> bool:
    """Whether ``app`` is an ASGI application (``async def app(scope, receive, send)``)."""
    call = type(app).__call__ if not inspect.isfunction(app) else app
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


@contextmanager
def serve(app: Any, host: str = HOST, *, request_handler: Any = None) -> Iterator[str]:
    """Serve ``app`` (WSGI or ASGI) on ``host`` and a free port; yield its base URL.

    A WSGI app gets werkzeug's threaded development server (the one ``flask run`` uses), so
    concurrent requests are handled in parallel, as in a real deployment; an ASGI app gets
    uvicorn. Port 0 lets the operating system pick a free port, so two servers never
    collide. On leaving the block, for any reason, the server is shut down, its socket
    closed and its thread joined. ``request_handler`` replaces werkzeug's request handler
    class (WSGI only).
    """
    if is_asgi(app):
        with _serve_asgi(app, host) as url:
            yield url
        return
    _silence_request_log()
    if getattr(app, "debug", False):
        # Debug mode turns errors into an interactive debugger page; never serve that.
        app.debug = False
    server = make_server(host, 0, app, threaded=True, request_handler=request_handler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": POLL_INTERVAL},
        name=f"serve-{server.port}",
        daemon=True,  # a kernel that dies must not wait for the server
    )
    thread.start()
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=JOIN_TIMEOUT)


@contextmanager
def _serve_asgi(app: Any, host: str) -> Iterator[str]:
    """uvicorn in a background thread, on a socket bound here so that its port is known."""
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name=f"serve-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the ASGI app did not start serving within {START_TIMEOUT:g} s")
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=JOIN_TIMEOUT)
        listener.close()


@contextmanager
def aws_emulator(host: str = HOST) -> Iterator[str]:
    """moto's emulated AWS (S3, SageMaker, IAM, ...) served on ``host``; yields its endpoint URL.

    This is moto's server mode (its WSGI app and request handler, as ``moto_server`` runs
    them) on loopback, served by ``serve`` so that it stops as fast and as surely as any
    other app here. moto keeps the emulated account in this process, so each block starts
    by resetting it: every block sees an empty account, whatever ran before. moto emulates
    the API only: nothing is trained, stored in the cloud or billed.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    app = DomainDispatcherApplication(create_backend_app)
    with serve(app, host, request_handler=MotoRequestHandler) as endpoint:
        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # nor tracebacks of refused calls
        reset = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
        _DIRECT.open(reset, timeout=10).close()
        yield endpoint


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Requests to loopback never go through a proxy an environment variable names."""


def request_json(
    url: str,
    method: str = "GET",
    body: bytes | dict[str, Any] | list[Any] | None = None,
    timeout: float = 5,
    content_type: str = _JSON,
) -> tuple[int, Any]:
    """Send one HTTP request and return ``(status code, decoded body)``.

    ``body`` may be raw bytes (sent as they are, e.g. to test invalid JSON or an empty
    body) or a dict/list (encoded as JSON). The response body is JSON-decoded when it is
    JSON, returned as text when it is not, and ``None`` when it is empty. Error statuses
    (4xx, 5xx) are returned like any other, not raised: a test wants to see them.

    Proxies from the environment are ignored: a request to the loopback must never leave
    through an ``http_proxy``.
    """
    data = json.dumps(body).encode() if isinstance(body, dict | list) else body
    request = urllib.request.Request(url, data=data, method=method.upper())
    if data is not None:
        request.add_header("Content-Type", content_type)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _decode(error.read())


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
