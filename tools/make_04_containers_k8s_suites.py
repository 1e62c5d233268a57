# ruff: noqa: E501  (the suite.yaml templates below keep a command or a message on one line)
"""Writes the hidden suites of phase3-mlops/04-containers-k8s: one Dockerfile suite and one
Kubernetes suite per service of the notebook's SERVICES (keep the two lists equal).

The checker scripts are the same in every suite: edit them in the churn-api suites (the
canonical copies), then run this tool to copy them into the others and rewrite the rest.
    .venv/bin/python tools/make_04_containers_k8s_suites.py
"""

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "hidden" / "phase3-mlops" / "suites"
CANONICAL = {
    "check_dockerfile.py": ROOT / "04-dockerfile-churn-api" / "trees" / "context" / "check_dockerfile.py",
    "check_manifests.py": ROOT / "04-k8s-churn-api" / "trees" / "manifests" / "check_manifests.py",
    "validate_all.py": ROOT / "04-k8s-churn-api" / "trees" / "manifests" / "validate_all.py",
}
SOURCES = {name: path.read_text() for name, path in CANONICAL.items()}
SERVICES = [
    {
        "name": "churn-api",
        "module": "service",
        "port": 8080,
        "health_path": "/healthz",
        "data_dir": "data",
        "notebooks_dir": "notebooks",
    },
    {
        "name": "churn-scorer",
        "module": "app",
        "port": 8000,
        "health_path": "/ping",
        "data_dir": "raw_data",
        "notebooks_dir": "research",
    },
    {
        "name": "risk-api",
        "module": "main",
        "port": 9000,
        "health_path": "/health",
        "data_dir": "datasets",
        "notebooks_dir": "analysis",
    },
    {
        "name": "retention-model",
        "module": "server",
        "port": 5000,
        "health_path": "/livez",
        "data_dir": "training_data",
        "notebooks_dir": "eda",
    },
]
APP = '''"""The churn model's HTTP service (from 03-packaging-serving), served by uvicorn in the image."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL = Path(__file__).with_name("model.onnx")
session = ort.InferenceSession(MODEL.read_bytes(), providers=["CPUExecutionProvider"])
app = FastAPI(title="{name}")


class Batch(BaseModel):
    instances: list[list[float]]


@app.get("{health_path}")
def health():
    return {{"status": "ok"}}


@app.post("/predict")
def predict(batch: Batch):
    rows = np.asarray(batch.instances, dtype=np.float32)
    if rows.ndim != 2 or rows.shape[1] != 6:
        raise HTTPException(status_code=400, detail="each instance needs 6 numbers")
    probabilities = session.run(["probabilities"], {{"features": rows}})[0][:, 1]
    return {{"predictions": probabilities.tolist()}}
'''
REQUIREMENTS = (
    "# the service's runtime dependencies, pinned\n"
    "fastapi==0.115.12    # web framework\n"
    "uvicorn==0.34.2      # ASGI server\n"
    "onnxruntime==1.22.0  # runs model.onnx\n"
    "numpy==2.2.6         # arrays\n"
)

for s in SERVICES:
    d = ROOT / f"04-dockerfile-{s['name']}"
    if d.exists():
        shutil.rmtree(d)
    tree = d / "trees" / "context"
    tree.mkdir(parents=True)
    (tree / f"{s['module']}.py").write_text(APP.format(**s))
    (tree / "requirements.txt").write_text(REQUIREMENTS)
    (tree / "model.onnx").write_bytes(b"placeholder: the grader never builds the image\n")
    (tree / "README.md").write_text(f"# {s['name']}\n\nThe churn model's HTTP service.\n")
    context = ["README.md", "model.onnx", "requirements.txt", f"{s['module']}.py"]
    params = {
        "module": s["module"],
        "port": s["port"],
        "health_path": s["health_path"],
        "context_files": context,
        # sample path -> what the learner reads (never this service's own names: the hidden
        # service of a check must not show in its feedback)
        "must_ignore": {
            ".git/HEAD": ".git",
            f"__pycache__/{s['module']}.cpython-312.pyc": "__pycache__",
            f"{s['data_dir']}/train.csv": "the service's data_dir",
            f"{s['notebooks_dir']}/.ipynb_checkpoints/explore-checkpoint.ipynb": "the checkpoints in notebooks_dir",
        },
    }
    (tree / "params.json").write_text(json.dumps(params, indent=1) + "\n")
    (tree / "check_dockerfile.py").write_text(SOURCES["check_dockerfile.py"])
    (tree / "hadolint-course.yaml").write_text(
        "# The course's hadolint settings: every finding counts (style included), inline ignores do not.\n"
        "failure-threshold: style\n"
    )
    (
        d / "suite.yaml"
    ).write_text(f"""# 04-containers-k8s: the Dockerfile and .dockerignore of {s["name"]} (port {s["port"]}, health {s["health_path"]}).
takes: ["Dockerfile", ".dockerignore"]
stages:
  - name: hadolint finds nothing
    tree: context
    run:
      - ["hadolint", "--config", "hadolint-course.yaml", "--failure-threshold", "style", "--disable-ignore-pragma", "--no-color", "Dockerfile"]
    expect: pass
    says: hadolint reported findings on your Dockerfile (every level counts, and inline ignore pragmas are switched off)
    show_output: true
  - name: the image follows the service's contract
    tree: context
    run:
      - ["{{python}}", "check_dockerfile.py"]
    expect: pass
    says: the Dockerfile or .dockerignore breaks a rule of the exercise
    show_output: true
""")
    k = ROOT / f"04-k8s-{s['name']}"
    if k.exists():
        shutil.rmtree(k)
    tree = k / "trees" / "manifests"
    tree.mkdir(parents=True)
    (tree / "params.json").write_text(
        json.dumps({"name": s["name"], "port": s["port"], "health_path": s["health_path"]}, indent=1) + "\n"
    )
    (tree / "check_manifests.py").write_text(SOURCES["check_manifests.py"])
    (tree / "validate_all.py").write_text(SOURCES["validate_all.py"])
    (
        k / "suite.yaml"
    ).write_text(f"""# 04-containers-k8s: Deployment, Service and HPA of {s["name"]} (port {s["port"]}, health {s["health_path"]}).
takes: ["k8s/*.yaml"]
stages:
  - name: kubernetes-validate --strict accepts every manifest
    tree: manifests
    run:
      - ["{{python}}", "validate_all.py"]
    expect: pass
    says: a manifest does not validate against the Kubernetes 1.33 schemas in strict mode (an unknown field, a wrong type, a missing required field)
    show_output: true
  - name: the manifests agree with each other and with the app
    tree: manifests
    run:
      - ["{{python}}", "check_manifests.py"]
    expect: pass
    says: the manifests are not consistent (selectors, ports, probes, requests or the HPA's target)
    show_output: true
""")
print("written")
