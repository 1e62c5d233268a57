"""The hidden suites of phase3-mlops/04-containers-k8s, judged for real: hadolint, the course's
Dockerfile checker, kubernetes-validate --strict and the manifests' cross-file checker, each a
job in the real sandbox. Honest files pass; each hostile file fails, at the stage that should
catch it, or is refused before anything runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from autograder.compare import compare
from autograder.encode import encode
from autograder.grading.artifacts import ArtifactJudge
from autograder.run.sandbox import Limits, Sandbox, missing_tools

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(missing_tools()), reason="needs bubblewrap and util-linux"),
]

ROOT = Path(__file__).resolve().parents[2]
SERVICE = {
    "name": "churn-api",
    "module": "service",
    "port": 8080,
    "health_path": "/healthz",
    "data_dir": "data",
    "notebooks_dir": "notebooks",
}
DOCKER = {"kind": "passes", "suite": "04-dockerfile-churn-api"}
K8S = {"kind": "passes", "suite": "04-k8s-churn-api"}

DOCKERFILE = """FROM python:3.12.7-slim

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1

WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY model.onnx service.py ./

RUN useradd --system --uid 10001 --no-create-home app
USER 10001

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \\
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"]
CMD ["uvicorn", "service:app", "--host", "0.0.0.0", "--port", "8080"]
"""
DOCKERIGNORE = ".git\n**/__pycache__\n**/.ipynb_checkpoints\ndata\nnotebooks\n"
MULTISTAGE = """FROM python:3.12.7-slim-bookworm AS build
WORKDIR /build
COPY requirements.txt ./
RUN python -m venv /venv \\
    && /venv/bin/pip install --no-cache-dir -r requirements.txt

FROM python:3.12.7-slim-bookworm
ENV PATH=/venv/bin:$PATH
COPY --from=build /venv /venv
WORKDIR /srv
COPY . .
USER 65532:65532
EXPOSE 8080/tcp
HEALTHCHECK CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8080/healthz')"]
ENTRYPOINT ["uvicorn"]
CMD ["service:app", "--host=0.0.0.0", "--port=8080"]
"""
ALLOWLIST = "*\n!requirements.txt\n!model.onnx\n!service.py\n"


def manifests() -> dict[str, dict]:
    labels = {"app": "churn-api"}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    return {
        "deployment": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "churn-api"},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "api",
                                "image": "registry.example.com/ml/churn-api:1.4.2",
                                "ports": [{"name": "http", "containerPort": 8080}],
                                "readinessProbe": probe,
                                "livenessProbe": probe,
                                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
                            }
                        ]
                    },
                },
            },
        },
        "service": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "churn-api"},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
        },
        "hpa": {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "churn-api"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "churn-api"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    }


def as_files(objects: dict[str, dict]) -> dict[str, str]:
    return {f"k8s/{name}.yaml": yaml.safe_dump(obj) for name, obj in objects.items()}


def edited(path: tuple, value) -> dict[str, str]:
    objects = manifests()
    target = objects
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return as_files(objects)


@pytest.fixture(scope="module")
def judge(tmp_path_factory) -> ArtifactJudge:
    sandbox = Sandbox.for_course(Limits(memory_mb=2048), ROOT, tmp_path_factory.mktemp("state"))
    return ArtifactJudge.for_course(ROOT, "phase3-mlops", sandbox)


def judged(judge: ArtifactJudge, spec: dict, files: dict[str, str]):
    return compare(judge.judge(spec, encode(files)), encode({}), spec)


@pytest.mark.parametrize(
    "files",
    [
        {"Dockerfile": DOCKERFILE, ".dockerignore": DOCKERIGNORE},
        {"Dockerfile": MULTISTAGE, ".dockerignore": ALLOWLIST},
    ],
    ids=["single-stage", "multi-stage-allowlist"],
)
def test_honest_dockerfiles_pass(judge, files):
    outcome = judged(judge, DOCKER, files)
    assert outcome.passed, outcome.reason


HOSTILE_DOCKERFILES = {
    "FROM python:latest": (DOCKERFILE.replace("python:3.12.7-slim", "python:latest"), "DL3007"),
    "FROM python (no tag)": (DOCKERFILE.replace("python:3.12.7-slim", "python"), "DL3006"),
    "FROM python:slim (no version)": (
        DOCKERFILE.replace("python:3.12.7-slim", "python:slim"),
        "pin the base image",
    ),
    "an ignore pragma": (
        "# hadolint ignore=DL3007\n" + DOCKERFILE.replace("python:3.12.7-slim", "python:latest"),
        "DL3007",
    ),
    "USER root": (DOCKERFILE.replace("USER 10001", "USER root"), "DL3002"),
    "no USER": (DOCKERFILE.replace("USER 10001\n", ""), "run as root"),
    "code before requirements": (
        DOCKERFILE.replace(
            "COPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n", ""
        ).replace(
            "COPY model.onnx service.py ./\n\nRUN useradd",
            "COPY . .\nRUN pip install --no-cache-dir -r requirements.txt \\\n && useradd",
        ),
        "before the COPY",
    ),
    "HEALTHCHECK on another port": (
        DOCKERFILE.replace("127.0.0.1:8080/healthz", "127.0.0.1:8000/healthz"),
        "HEALTHCHECK",
    ),
    "HEALTHCHECK on another path": (DOCKERFILE.replace("8080/healthz", "8080/healthzz"), "HEALTHCHECK"),
    "EXPOSE another port": (DOCKERFILE.replace("EXPOSE 8080", "EXPOSE 8000"), "EXPOSE"),
    "uvicorn on 127.0.0.1": (DOCKERFILE.replace('"0.0.0.0"', '"127.0.0.1"'), "0.0.0.0"),
    "a HEALTHCHECK for every service": (
        DOCKERFILE.replace(
            "http://127.0.0.1:8080/healthz'",
            "http://127.0.0.1:8080/healthz'); urlopen('http://127.0.0.1:8000/ping'",
        ),
        "HEALTHCHECK",
    ),
    "two --port flags": (
        DOCKERFILE.replace('"--port", "8080"]', '"--port", "8080", "--port", "9000"]'),
        "--port",
    ),
    "two apps": (DOCKERFILE.replace('"service:app",', '"service:app", "main:app",'), "no other app"),
    "no model": (DOCKERFILE.replace("COPY model.onnx service.py ./", "COPY service.py ./"), "model.onnx"),
    "a file not in the context": (
        DOCKERFILE.replace("COPY requirements.txt .", "COPY requirement.txt ."),
        "no such file",
    ),
}


@pytest.mark.parametrize("name", list(HOSTILE_DOCKERFILES))
def test_hostile_dockerfiles_fail(judge, name):
    text, reason = HOSTILE_DOCKERFILES[name]
    outcome = judged(judge, DOCKER, {"Dockerfile": text, ".dockerignore": DOCKERIGNORE})
    assert not outcome.passed and reason in outcome.reason, outcome.reason


@pytest.mark.parametrize(
    "ignore, reason",
    [
        (None, "no .dockerignore"),
        (DOCKERIGNORE.replace("data\n", ""), "does not exclude the service's data_dir"),
        (DOCKERIGNORE.replace("**/__pycache__\n", "*.pyc\n"), "does not exclude __pycache__"),
        ("*\n", "excludes requirements.txt"),
    ],
    ids=["missing", "keeps-data", "keeps-pycache", "excludes-everything"],
)
def test_hostile_dockerignores_fail(judge, ignore, reason):
    files = {"Dockerfile": DOCKERFILE} | ({} if ignore is None else {".dockerignore": ignore})
    outcome = judged(judge, DOCKER, files)
    assert not outcome.passed and reason in outcome.reason, outcome.reason


@pytest.mark.parametrize(
    "extra", [".hadolint.yaml", "params.json", "check_dockerfile.py", "hadolint-course.yaml", "service.py"]
)
def test_extra_files_are_refused_before_anything_runs(judge, extra):
    files = {"Dockerfile": DOCKERFILE, ".dockerignore": DOCKERIGNORE, extra: "ignored: [DL3007]\n"}
    outcome = judged(judge, DOCKER, files)
    assert not outcome.passed and outcome.reason.startswith("your files were not run"), outcome.reason


def test_honest_manifests_pass_in_files_or_in_one_file(judge):
    assert judged(judge, K8S, as_files(manifests())).passed
    one = {"k8s/all.yaml": "---\n".join(as_files(manifests()).values())}
    outcome = judged(judge, K8S, one)
    assert outcome.passed, outcome.reason


HOSTILE_MANIFESTS = {
    "Service selector matches no pod": (
        ("service", "spec", "selector"),
        {"app": "churn"},
        "Service's selector",
    ),
    "matchLabels not on the pods": (
        ("deployment", "spec", "selector", "matchLabels"),
        {"app": "x"},
        "matchLabels",
    ),
    "targetPort is not the container port": (
        ("service", "spec", "ports"),
        [{"port": 80, "targetPort": 8000}],
        "targetPort",
    ),
    "probe on the wrong path": (
        ("deployment", "spec", "template", "spec", "containers", 0, "readinessProbe"),
        {"httpGet": {"path": "/ping", "port": "http"}},
        "health path",
    ),
    "probe on the wrong port": (
        ("deployment", "spec", "template", "spec", "containers", 0, "livenessProbe"),
        {"httpGet": {"path": "/healthz", "port": 9999}},
        "port is not",
    ),
    "no resource requests": (
        ("deployment", "spec", "template", "spec", "containers", 0, "resources"),
        {},
        "requests",
    ),
    "HPA aimed elsewhere": (("hpa", "spec", "scaleTargetRef", "name"), "other", "scaleTargetRef"),
    "a typo'd field": (("deployment", "spec", "replica"), 3, "kubernetes-validate"),
    "HPA as autoscaling/v1": (("hpa", "apiVersion"), "autoscaling/v1", "kubernetes-validate"),
    "image :latest": (
        ("deployment", "spec", "template", "spec", "containers", 0, "image"),
        "churn-api:latest",
        "latest",
    ),
    "no HPA": (("hpa",), KeyError, "HorizontalPodAutoscaler"),
}


@pytest.mark.parametrize("name", list(HOSTILE_MANIFESTS))
def test_hostile_manifests_fail(judge, name):
    path, value, reason = HOSTILE_MANIFESTS[name]
    outcome = judged(judge, K8S, edited(path, value))
    assert not outcome.passed and reason in outcome.reason, outcome.reason


@pytest.mark.parametrize(
    "extra", ["check_manifests.py", "params.json", "k8s/../params.json", "k8s/deploy.yml"]
)
def test_files_outside_k8s_yaml_are_refused(judge, extra):
    outcome = judged(judge, K8S, as_files(manifests()) | {extra: "{}"})
    assert not outcome.passed and outcome.reason.startswith("your files were not run"), outcome.reason
