"""``serving.serve``: a Flask (WSGI) or FastAPI (ASGI) app over real HTTP on the loopback, always stopped."""

from __future__ import annotations

import socket

import pytest
from fastapi import FastAPI, HTTPException
from flask import Flask, jsonify

from autograder.serving import is_asgi, request_json, serve


def flask_app() -> Flask:
    app = Flask("probe")

    @app.get("/ping")
    def ping():  # type: ignore[no-untyped-def]
        return jsonify(ok=True)

    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/predict")
    def predict(rows: list[float]) -> dict[str, float]:
        if not rows:
            raise HTTPException(status_code=422, detail="no rows")
        return {"mean": sum(rows) / len(rows)}

    return app


def port_is_free(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) != 0


@pytest.mark.parametrize("make", [flask_app, fastapi_app], ids=["wsgi", "asgi"])
def test_an_app_is_served_over_http_and_stopped(make):
    with serve(make()) as url:
        assert request_json(url + "/ping") == (200, {"ok": True})
        assert request_json(url + "/missing")[0] == 404
    assert port_is_free(url)


def test_an_asgi_app_gets_its_status_codes_and_bodies():
    assert is_asgi(fastapi_app()) and not is_asgi(flask_app())
    with serve(fastapi_app()) as url:
        assert request_json(url + "/predict", "POST", [1.0, 2.0, 6.0]) == (200, {"mean": 3.0})
        assert request_json(url + "/predict", "POST", [])[0] == 422
        assert request_json(url + "/predict", "POST", b"not json")[0] == 422


def test_a_failing_block_still_stops_the_asgi_server():
    with pytest.raises(AssertionError), serve(fastapi_app()) as url:
        raise AssertionError("a visible assert failed inside the block")
    assert port_is_free(url)
