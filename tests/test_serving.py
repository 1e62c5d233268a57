"""``serving.serve``: a Flask (WSGI) or FastAPI (ASGI) app over real HTTP on the loopback, always stopped."""

from __future__ import annotations

import socket

import pytest
from fastapi import FastAPI, HTTPException
from flask import Flask, jsonify

from autograder.serving import aws_emulator, is_asgi, request_json, serve


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


def test_the_aws_emulator_gives_each_block_an_empty_account_and_stops(monkeypatch):
    """moto in server mode, spoken to by boto3 over real HTTP, as phase 3's cloud notebook does."""
    boto3 = pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy must not be used for loopback
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with aws_emulator() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-1")
        s3.create_bucket(Bucket="ml-artifacts", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(
            Bucket="ml-artifacts", Key="x_y/model.tar.gz", Body=b"1", Metadata={"under_score": "kept"}
        )
        head = s3.head_object(Bucket="ml-artifacts", Key="x_y/model.tar.gz")
        assert head["Metadata"] == {"under_score": "kept"}  # moto's request handler is in use
    assert port_is_free(endpoint)
    with aws_emulator() as again:
        s3 = boto3.client("s3", endpoint_url=again, region_name="eu-west-1")
        assert s3.list_buckets()["Buckets"] == []
