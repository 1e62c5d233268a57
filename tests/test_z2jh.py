"""The zero-to-jupyterhub deployment (deploy/z2jh/), checked offline as phase 3 teaches.

No cluster and no container daemon here: the values are checked against the chart's own
schema with check-jsonschema, the manifests (and the volumes the values add to pods)
against the Kubernetes API schemas with kubernetes-validate in strict mode, the
Dockerfile with hadolint, and every name, path, version and uid the files share against
each other and against the course. Each check is shown to refuse a broken file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from dockerfile_parse import DockerfileParser
from traitlets.config import Config

from autograder.course import learner_lab
from autograder.course.config import load_settings
from autograder.course.exchange import LEARNER_CLASSES
from autograder.hub import course as hub_course

REPO = Path(__file__).resolve().parent.parent
Z2JH = REPO / "deploy" / "z2jh"
SCHEMA = Z2JH / "schema" / "values.schema.yaml"
BIN = Path(sys.executable).parent
K8S_VERSIONS = ["1.28.0", "1.37.0"]  # the chart's oldest supported Kubernetes, and the newest schemas we have
AUTH_PLUGIN = hub_course.AUTH_PLUGIN
INSTRUCTOR_PLUGINS = set(learner_lab.INSTRUCTOR_PLUGINS)  # one place says which tools learners lack
INSTRUCTOR_SERVER_EXTENSIONS = set(learner_lab.INSTRUCTOR_SERVER_EXTENSIONS)
FIRST_LEARNER_UID = 10000

# jsonschema's optional `iri` format check builds a grammar on import; no schema here uses it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# --- reading the files -------------------------------------------------------------------


def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((Z2JH / "values.yaml").read_text())
    return loaded


def documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((Z2JH / name).read_text()) if d is not None]


def manifest(name: str, kind: str) -> dict[str, Any]:
    (found,) = [d for d in documents(name) if d["kind"] == kind]
    return found


def formgrader_pod() -> dict[str, Any]:
    spec: dict[str, Any] = manifest("formgrader.yaml", "Deployment")["spec"]["template"]["spec"]
    return spec


def formgrader_container() -> dict[str, Any]:
    (container,) = formgrader_pod()["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def mount_of(mounts: list[dict[str, Any]], volumes: list[dict[str, Any]], claim: str) -> str:
    """Where the volume backed by PersistentVolumeClaim ``claim`` is mounted."""
    (volume,) = [v["name"] for v in volumes if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
    (path,) = [m["mountPath"] for m in mounts if m["name"] == volume]
    return str(path)


def roster() -> dict[str, tuple[int, int]]:
    """The roster's accounts: name -> (uid, gid)."""
    text = manifest("roster.yaml", "ConfigMap")["data"]["passwd"]
    accounts: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        name, _, uid, gid, _, _, _ = line.split(":")
        assert name not in accounts, f"{name} has two lines in roster.yaml"
        accounts[name] = (int(uid), int(gid))
    return accounts


def learner_nbgrader_config() -> Config:
    """The learners' nbgrader_config.py from values.yaml, run as nbgrader runs it."""
    source = values()["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    config = Config()
    exec(compile(source, "nbgrader_config.py", "exec"), {"get_config": lambda: config})
    return config


def dockerfile() -> list[dict[str, Any]]:
    parser = DockerfileParser(fileobj=(Z2JH / "Dockerfile").open("rb"))
    structure: list[dict[str, Any]] = parser.structure
    return structure


def stage(name: str) -> list[dict[str, Any]]:
    """The instructions of one stage of the Dockerfile, its FROM first."""
    steps, current = [], None
    for step in dockerfile():
        if step["instruction"] == "FROM":
            current = step["value"].split()[-1]
        if current == name:
            steps.append(step)
    assert steps, f"no stage {name} in deploy/z2jh/Dockerfile"
    return steps


def runs(name: str) -> str:
    return "\n".join(s["value"] for s in stage(name) if s["instruction"] == "RUN")


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, bool, PurePosixPath]:
    """The course id, path_includes_course and the exchange relative to the state folder,
    as jupyter_config.py sets them."""
    state = tmp_path_factory.mktemp("state").resolve()
    settings = load_settings(REPO, state_dir=state)
    exchange = settings.config["Exchange"]
    relative = PurePosixPath(Path(exchange["root"]).relative_to(state).as_posix())
    return settings.course_id, bool(exchange["path_includes_course"]), relative


# --- the chart's schema --------------------------------------------------------------------


def user_values_schema() -> dict[str, Any]:
    """The chart's schema as it applies to a values file given with ``helm -f``.

    Helm validates the chart's defaults merged with the user's values, so keys the chart
    defaults (``proxy``, ``hub.baseUrl``, ``singleuser.storage.type``...) are never
    missing. We do not vendor those defaults: this drops the ``required`` lists of the
    objects the chart defaults, and keeps those of entries a user names themselves
    (``extraFiles.<name>``, ``prePuller.extraImages.<name>``), which have no defaults.
    Types, enums and unknown keys are checked as Helm checks them.
    """
    schema: dict[str, Any] = yaml.safe_load(SCHEMA.read_text())

    def strip(node: Any, user_named: bool) -> None:
        if isinstance(node, dict):
            if not user_named:
                node.pop("required", None)
            for key, child in node.items():
                strip(child, user_named or key == "patternProperties")
        elif isinstance(node, list):
            for child in node:
                strip(child, user_named)

    strip(schema, False)
    return schema


def check_jsonschema(tmp_path: Path, instance: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    schema_file = tmp_path / "values.schema.json"
    schema_file.write_text(json.dumps(user_values_schema()))
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(instance))
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(schema_file), str(values_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_vendored_schema_is_the_one_the_readme_names():
    readme = (Z2JH / "schema" / "README.md").read_text()
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert f"`{digest}`" in readme, (
        "schema/values.schema.yaml changed: vendor it again as schema/README.md says"
    )
    assert "BSD-3-Clause" in readme and "BSD 3-Clause License" in (Z2JH / "schema" / "LICENSE").read_text()
    assert "`4.4.0`" in readme and "--version 4.4.0" in (REPO / "docs" / "KUBERNETES.md").read_text()


def test_values_pass_the_chart_schema(tmp_path):
    run = check_jsonschema(tmp_path, values())
    assert run.returncode == 0, run.stdout + run.stderr


def _set(tree: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    broken = copy.deepcopy(tree)
    *parents, last = path.split(".")
    node = broken
    for key in parents:
        node = node[key]
    node[last] = value
    return broken


def _rename(tree: dict[str, Any], path: str, new: str) -> dict[str, Any]:
    broken = copy.deepcopy(tree)
    *parents, last = path.split(".")
    node = broken
    for key in parents:
        node = node[key]
    node[new] = node.pop(last)
    return broken


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        (lambda v: _rename(v, "singleuser.memory.limit", "limt"), "limt"),  # a misspelt key
        (
            lambda v: _set(v, "hub.loadGroups", {"nbgrader-ml-career": []}),
            "loadGroups",
        ),  # not a chart 4.4.0 key
        (lambda v: _set(v, "singleuser.cpu.limit", "one core"), "one core"),  # a wrong type
        (lambda v: _set(v, "cull.enabled", "yes"), "yes"),  # a string for a boolean
        (lambda v: _set(v, "singleuser.image.pullPolicy", "Sometimes"), "Sometimes"),  # not in the enum
        (
            lambda v: _set(v, "singleuser.extraFiles.broken", {"stringData": "x"}),
            "mountPath",
        ),  # required entry key
    ],
    ids=[
        "misspelt-key",
        "unknown-hub-key",
        "wrong-type",
        "string-for-bool",
        "bad-enum",
        "extra-file-no-path",
    ],
)
def test_schema_refuses_broken_values(tmp_path, broken, named):
    run = check_jsonschema(tmp_path, broken(values()))
    assert run.returncode != 0, "check-jsonschema accepted a broken values file"
    assert named in run.stdout + run.stderr


# --- Kubernetes manifests --------------------------------------------------------------------


def kube_problem(document: dict[str, Any], version: str) -> str | None:
    """None when kubernetes-validate (strict) accepts ``document``, else its first line."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, version, strict=True)
    except Exception as error:  # ValidationError, SchemaNotFoundError...
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


ALL_MANIFESTS = [
    (name, i)
    for name in ("formgrader.yaml", "storage.yaml", "roster.yaml")
    for i in range(len(documents(name)))
]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("name", "index"), ALL_MANIFESTS)
def test_manifests_are_strictly_valid(name, index, version):
    document = documents(name)[index]
    assert kube_problem(document, version) is None, (
        f"{name} {document['kind']}: {kube_problem(document, version)}"
    )


def learner_pod() -> dict[str, Any]:
    """The parts values.yaml adds to a learner's pod and the hub's, as Pods to validate."""
    single = values()["singleuser"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "jupyter-learner1"},
        "spec": {
            "containers": [
                {
                    "name": "notebook",
                    "image": f"{single['image']['name']}:{single['image']['tag']}",
                    "volumeMounts": single["storage"]["extraVolumeMounts"],
                }
            ],
            "volumes": single["storage"]["extraVolumes"],
        },
    }


def hub_pod() -> dict[str, Any]:
    hub = values()["hub"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hub"},
        "spec": {
            "containers": [{"name": "hub", "image": "hub", "volumeMounts": hub["extraVolumeMounts"]}],
            "volumes": hub["extraVolumes"],
        },
    }


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_volumes_in_values_are_strictly_valid(version):
    """The chart passes extraVolumes and extraVolumeMounts through unchecked (type: array)."""
    for pod in (learner_pod(), hub_pod()):
        assert kube_problem(pod, version) is None, f"{pod['metadata']['name']}: {kube_problem(pod, version)}"


def test_kubernetes_validate_refuses_broken_manifests():
    deployment = manifest("formgrader.yaml", "Deployment")
    typo = _rename(deployment, "spec.replicas", "replica")
    assert "replica" in (kube_problem(typo, K8S_VERSIONS[-1]) or "")
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9999"
    assert kube_problem(wrong, K8S_VERSIONS[-1]) is not None
    pod = learner_pod()
    pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claim"] = "ml-career-exchange"
    assert kube_problem(pod, K8S_VERSIONS[-1]) is not None


def test_formgrader_service_selects_its_pod():
    labels = manifest("formgrader.yaml", "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = manifest("formgrader.yaml", "Service")["spec"]
    assert service["selector"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in formgrader_container()["ports"]}
    (port,) = service["ports"]
    assert port["targetPort"] in ports
    assert values()["hub"]["services"]["ml-career"]["url"] == (
        f"http://{manifest('formgrader.yaml', 'Service')['metadata']['name']}:{port['port']}"
    )
    assert env_of(formgrader_container())["JUPYTERHUB_SERVICE_URL"].endswith(f":{ports[port['targetPort']]}")
    policy = manifest("formgrader.yaml", "NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()


# --- the Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_has_no_hadolint_findings():
    """hadolint as phase 3 runs it: every level counts, ignore pragmas ignored."""
    run = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "style", "--disable-ignore-pragma", "--no-color", "-"],
        input=(Z2JH / "Dockerfile").read_text(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_learner_image_holds_no_course_material():
    """Learners' pods run this image: no solution, hidden test or course state may be in it."""
    sources = set()
    for step in stage("learner"):
        if step["instruction"] in ("COPY", "ADD"):
            words = [w for w in step["value"].split() if not w.startswith("--")]
            sources.update(words[:-1])
    assert sources == {"pyproject.toml", "README.md", "autograder"}, sources


def test_images_and_tags_agree():
    image = values()["singleuser"]["image"]
    label = next(s["value"] for s in stage("learner") if s["instruction"] == "LABEL")
    assert f'org.opencontainers.image.version="{image["tag"]}"' in label
    registry = image["name"].rsplit("/", 1)[0]
    assert image["name"] == f"{registry}/learner"
    pod = formgrader_pod()
    for container in pod["initContainers"] + pod["containers"]:
        assert container["image"] == f"{registry}/formgrader:{image['tag']}", container["name"]
    base = stage("learner")[0]["value"].split()[0]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), (
        f"pin the base image to a Python 3.11 release: {base}"
    )


def test_versions_agree_with_the_course():
    """The images install pyproject's pins, and the jupyterhub the one-server hub runs."""
    pins = dict(
        d.split("==", 1)
        for d in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    learner = runs("learner")
    assert "-r requirements.txt" in learner and "['project']['dependencies']" in learner
    assert "pip install --no-cache-dir --no-deps ." in learner
    hub = pins.get("jupyterhub") or version("jupyterhub")  # pyproject pins it once the one-server hub lands
    assert f"jupyterhub=={hub}" in learner
    assert hub.split(".")[0] == "6"
    assert pins["nbgrader"] == version("nbgrader")


# --- the course: names, paths, groups, uids ----------------------------------------------------


def test_course_names_agree(course):
    course_id, _, _ = course
    hub = values()["hub"]
    assert learner_nbgrader_config().CourseDirectory.course_id == course_id
    assert set(hub["config"]["JupyterHub"]["load_groups"]) == {
        f"nbgrader-{course_id}",
        f"formgrade-{course_id}",
    }
    assert list(hub["services"]) == [course_id], (
        "nbgrader needs the formgrader service named after the course"
    )
    role = hub["loadRoles"][f"formgrade-{course_id}"]
    assert role["scopes"] == [f"access:services!service={course_id}"]
    assert role["groups"] == [f"formgrade-{course_id}"]
    env = env_of(formgrader_container())
    assert env["JUPYTERHUB_SERVICE_NAME"] == course_id
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == f"/services/{course_id}/"
    assert env["JUPYTERHUB_CLIENT_ID"] == f"service-{course_id}"
    assert json.loads(env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"]) == [f"access:services!service={course_id}"]
    assert env["JUPYTERHUB_API_TOKEN"]["secretKeyRef"]["key"] == f"hub.services.{course_id}.apiToken"
    assert any(course_id in s for s in hub["loadRoles"][f"{course_id}-formgrader"]["scopes"])


def test_learners_nbgrader_finds_the_shared_exchange(course):
    _, includes_course, _ = course
    config = learner_nbgrader_config()
    single = values()["singleuser"]["storage"]
    mounted = mount_of(single["extraVolumeMounts"], single["extraVolumes"], "ml-career-exchange")
    assert config.Exchange.root == mounted
    assert config.Exchange.path_includes_course == includes_course
    for command, name in LEARNER_CLASSES.items():  # every learner command uses the course's class
        assert getattr(config.ExchangeFactory, command) == name, command
    assert config.Authenticator.plugin_class == AUTH_PLUGIN


def test_formgrader_collects_from_the_same_exchange(course):
    """The formgrader's exchange is where jupyter_config.py puts it, on the learners' volume."""
    _, _, relative = course
    container, pod = formgrader_container(), formgrader_pod()
    state = PurePosixPath(env_of(container)["AUTOGRADER_STATE"])
    assert mount_of(container["volumeMounts"], pod["volumes"], "ml-career-exchange") == str(state / relative)
    assert mount_of(container["volumeMounts"], pod["volumes"], "ml-career-grader-state") == str(state)
    claims = {
        d["metadata"]["name"]: d for d in documents("storage.yaml") if d["kind"] == "PersistentVolumeClaim"
    }
    claim = claims["ml-career-exchange"]
    assert claim["metadata"]["name"] == "ml-career-exchange" and claim["spec"]["accessModes"] == [
        "ReadWriteMany"
    ]
    volume = manifest("storage.yaml", "PersistentVolume")["spec"]
    assert "nfs" in volume and volume["claimRef"]["name"] == "ml-career-exchange", (
        "the exchange keeps owners as they are"
    )


def test_learner_lab_hides_the_instructor_tools():
    single = values()["singleuser"]
    files = single["extraFiles"]
    page = files["learner-lab-plugins"]
    server = files["learner-server-extensions"]
    assert {k for k, off in page["data"]["disabledExtensions"].items() if off} == INSTRUCTOR_PLUGINS
    extensions = server["data"]["ServerApp"]["jpserver_extensions"]
    assert {k for k, on in extensions.items() if on is False} == INSTRUCTOR_SERVER_EXTENSIONS
    folder = PurePosixPath(single["extraEnv"]["JUPYTER_CONFIG_PATH"])
    assert PurePosixPath(page["mountPath"]) == folder / "labconfig" / "page_config.json"
    assert PurePosixPath(server["mountPath"]) == folder / "jupyter_server_config.json"
    for name in INSTRUCTOR_PLUGINS | INSTRUCTOR_SERVER_EXTENSIONS:
        assert re.search(rf"extension disable .*{re.escape(name)}", runs("learner")), name
        assert re.search(rf"extension enable .*{re.escape(name)}", runs("formgrader")), name


def test_hub_settings_match_the_one_server_hub():
    hub, config = values()["hub"], values()["hub"]["config"]
    assert "read:users:groups!user" in config["Spawner"]["server_token_scopes"]
    assert config["Authenticator"]["admin_users"] == []
    assert config["JupyterHub"]["authenticator_class"] not in ("pam", "jupyterhub.auth.PAMAuthenticator")
    cull = values()["cull"]
    assert cull["enabled"] is True and cull["timeout"] > 0
    single = values()["singleuser"]
    for resource in ("memory", "cpu"):
        assert single[resource]["guarantee"] and single[resource]["limit"], resource
    assert "ml-career-roster" in hub["extraConfig"]


def test_roster_gives_everyone_of_the_course_their_own_uid():
    accounts = roster()
    uids = [uid for uid, _ in accounts.values()]
    assert len(uids) == len(set(uids)), "two roster lines share a uid"
    groups = values()["hub"]["config"]["JupyterHub"]["load_groups"]
    people = {user for group in groups.values() for user in group["users"]}
    assert people <= set(accounts), f"no roster line for {sorted(people - set(accounts))}"
    assert all(accounts[p][0] >= FIRST_LEARNER_UID for p in people)
    grader = formgrader_container()["securityContext"]
    (grader_name,) = [n for n, (uid, _) in accounts.items() if uid == grader["runAsUser"]]
    assert grader_name not in people and accounts[grader_name][1] == grader["runAsGroup"]
    assert (
        formgrader_pod()["initContainers"][0]["command"][1] == f"{grader['runAsUser']}:{grader['runAsGroup']}"
    )
    fallback = values()["singleuser"]["uid"]
    assert fallback not in {accounts[p][0] for p in people} | {grader["runAsUser"], 0}


def roster_hook_namespace() -> tuple[dict[str, Any], Config]:
    """Run values.yaml's hub.extraConfig as the chart runs it (after hub.config)."""
    hub = values()["hub"]
    config = Config()
    config.JupyterHub.load_groups = copy.deepcopy(hub["config"]["JupyterHub"]["load_groups"])
    namespace: dict[str, Any] = {"c": config}
    exec(compile(hub["extraConfig"]["ml-career-roster"], "extraConfig", "exec"), namespace)
    return namespace, config


def roster_hook(tmp_path: Path, passwd: str) -> tuple[dict[str, Any], Config]:
    """The hub's roster code, reading a roster file of ours."""
    namespace, config = roster_hook_namespace()
    (tmp_path / "passwd").write_text(passwd)
    namespace["ROSTER"] = tmp_path / "passwd"
    return namespace, config


def spawner(name: str) -> SimpleNamespace:
    return SimpleNamespace(user=SimpleNamespace(name=name))


def test_every_pod_reads_the_same_roster():
    hub = values()["hub"]
    namespace, _ = roster_hook_namespace()
    name = manifest("roster.yaml", "ConfigMap")["metadata"]["name"]
    (hub_volume,) = [v["name"] for v in hub["extraVolumes"] if v.get("configMap", {}).get("name") == name]
    (hub_mount,) = [m["mountPath"] for m in hub["extraVolumeMounts"] if m["name"] == hub_volume]
    assert namespace["ROSTER"] == Path(hub_mount) / "passwd"
    storage = values()["singleuser"]["storage"]
    pods = [(storage["extraVolumes"], storage["extraVolumeMounts"])]
    pods.append((formgrader_pod()["volumes"], formgrader_container()["volumeMounts"]))
    for volumes, mounts in pods:
        (volume,) = [v["name"] for v in volumes if v.get("configMap", {}).get("name") == name]
        (mount,) = [m for m in mounts if m["name"] == volume]
        assert (mount["mountPath"], mount["subPath"], mount["readOnly"]) == ("/etc/passwd", "passwd", True)


def test_hub_starts_each_learner_as_their_roster_uid(tmp_path):
    passwd = manifest("roster.yaml", "ConfigMap")["data"]["passwd"]
    namespace, config = roster_hook(tmp_path, passwd)
    uid = config.KubeSpawner.uid
    assert uid is namespace["roster_uid"]
    assert uid(spawner("learner1")) == roster()["learner1"][0]
    assert uid(spawner("learner2")) == roster()["learner2"][0] != uid(spawner("learner1"))
    with pytest.raises(ValueError, match="no line in the course roster"):
        uid(spawner("mallory"))
    with pytest.raises(ValueError, match="below 10000"):
        uid(spawner("grader-ml-career"))
    groups = values()["hub"]["config"]["JupyterHub"]["load_groups"]
    assert config.Authenticator.allowed_users == {u for g in groups.values() for u in g["users"]}
    assert config.Authenticator.allow_existing_users is False
    assert config.KubeSpawner.fs_gid == config.KubeSpawner.gid == roster()["learner1"][1]
