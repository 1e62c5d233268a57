"""The course's cross-file checks of the Kubernetes manifests in k8s/ for the service in params.json.

Parses only (yaml.safe_load_all); prints one line per problem and exits 1 if there is any.
"""

import json
import sys
from pathlib import Path

import yaml

params = json.loads(Path("params.json").read_text())
NAME, PORT, HEALTH = params["name"], int(params["port"]), params["health_path"]
problems = []
problem = problems.append


def finish():
    for line in problems:
        print("-", line)
    print(f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


documents = []
for path in sorted(Path("k8s").rglob("*.yaml")):
    try:
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError:
        problem(f"{path} is not valid YAML")
if problems:
    finish()


def of_kind(kind):
    return [d for d in documents if isinstance(d, dict) and d.get("kind") == kind]


def get(mapping, *keys):
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


found = {kind: of_kind(kind) for kind in ("Deployment", "Service", "HorizontalPodAutoscaler")}
for kind, items in found.items():
    if len(items) != 1:
        problem(f"expected exactly one {kind}, found {len(items)}")
if problems:
    finish()
deployment, service, hpa = (found[k][0] for k in ("Deployment", "Service", "HorizontalPodAutoscaler"))

namespaces = {get(d, "metadata", "namespace") or "default" for d in (deployment, service, hpa)}
if len(namespaces) != 1:
    problem("the Deployment, the Service and the HPA are in different namespaces")
if get(deployment, "metadata", "name") != NAME:
    problem("the Deployment should be named after the service (its name)")
if get(service, "metadata", "name") != NAME:
    problem("the Service should be named after the service (its name)")

labels = get(deployment, "spec", "template", "metadata", "labels") or {}
match = get(deployment, "spec", "selector", "matchLabels") or {}
if not isinstance(labels, dict) or not isinstance(match, dict):
    problem("labels and matchLabels must be mappings")
    finish()
if not match or any(labels.get(k) != v for k, v in match.items()):
    problem("the Deployment's selector.matchLabels must be a non-empty subset of the pod template's labels")

containers = get(deployment, "spec", "template", "spec", "containers") or []
serving = [
    c
    for c in containers
    if isinstance(c, dict)
    and any(isinstance(p, dict) and p.get("containerPort") == PORT for p in c.get("ports") or [])
]
if not serving:
    problem("no container declares the containerPort the app listens on (the service's port)")
    finish()
container = serving[0]
port_names = {
    p.get("name")
    for p in container.get("ports") or []
    if isinstance(p, dict) and p.get("containerPort") == PORT
}
port_names.discard(None)


def points_at_app(port):
    return port == PORT or (isinstance(port, str) and port in port_names)


image = str(container.get("image") or "")
last = image.rsplit("/", 1)[-1]
if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
    problem("the container image needs a version tag (or a digest), not latest")

for probe in ("readinessProbe", "livenessProbe"):
    http = get(container, probe, "httpGet")
    if not isinstance(http, dict):
        problem(f"the container needs a {probe} with httpGet")
        continue
    if http.get("path") != HEALTH:
        problem(f"the {probe} should GET the app's health path")
    if not points_at_app(http.get("port")):
        problem(f"the {probe}'s port is not the container's port")

requests = get(container, "resources", "requests") or {}
if not isinstance(requests, dict) or "cpu" not in requests or "memory" not in requests:
    problem("set resources.requests.cpu and .memory (an HPA on CPU utilization needs the CPU request)")

selector = get(service, "spec", "selector") or {}
if not isinstance(selector, dict) or not selector or any(labels.get(k) != v for k, v in selector.items()):
    problem("the Service's selector must be a non-empty subset of the pod template's labels")
ports = get(service, "spec", "ports") or []
if not any(isinstance(p, dict) and points_at_app(p.get("targetPort", p.get("port"))) for p in ports):
    problem("no Service port has a targetPort that is the container's port")

target = get(hpa, "spec", "scaleTargetRef") or {}
if (
    target.get("kind") != "Deployment"
    or target.get("name") != get(deployment, "metadata", "name")
    or target.get("apiVersion") != "apps/v1"
):
    problem("the HPA's scaleTargetRef must name the Deployment (apiVersion apps/v1, kind Deployment)")
low, high = get(hpa, "spec", "minReplicas") or 1, get(hpa, "spec", "maxReplicas")
if not isinstance(high, int) or not isinstance(low, int) or not 1 <= low <= high:
    problem("the HPA needs 1 <= minReplicas <= maxReplicas")
cpu = [
    m
    for m in get(hpa, "spec", "metrics") or []
    if isinstance(m, dict)
    and get(m, "resource", "name") == "cpu"
    and get(m, "resource", "target", "type") == "Utilization"
]
if not cpu:
    problem("the HPA should scale on the Resource metric cpu with a target of type Utilization")

finish()
