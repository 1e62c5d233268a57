"""The course's checks of a Dockerfile and .dockerignore for the service in params.json.

Run by the grader in a folder holding the build context (the service's files), params.json
and the learner's Dockerfile and .dockerignore. Parses only (dockerfile-parse); runs nothing
of the learner's. Prints one line per problem and exits 1 if there is any.
"""

import io
import json
import re
import shlex
import sys
from pathlib import Path

from dockerfile_parse import DockerfileParser

params = json.loads(Path("params.json").read_text())
MODULE, PORT, HEALTH = params["module"], int(params["port"]), params["health_path"]
CONTEXT = params["context_files"]  # the files of the build context (besides Dockerfile/.dockerignore)
MUST_IGNORE = params["must_ignore"]  # sample path -> its name in messages: what .dockerignore must exclude
MUST_KEEP = {
    f"{MODULE}.py": "the app module",
    "requirements.txt": "requirements.txt",
    "model.onnx": "model.onnx",
}
problems = []


def problem(text):
    problems.append(text)


def pattern_regex(pattern):
    """A .dockerignore pattern as a regex, following Docker's rules: * and ? stay inside one
    folder, ** spans folders, [..] is a class, a backslash escapes."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out += "[" + body.replace("\\", "\\\\") + "]"
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def clean(path):
    parts = []
    for part in path.strip().split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def ignore_rules(text):
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = clean(line[1:].strip() if negate else line)
        if pattern:
            rules.append((pattern_regex(pattern), negate))
    return rules


def ignored(path, rules):
    """Docker's rule: the last pattern that matches the path or one of its parent folders wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    result = False
    for regex, negate in rules:
        if any(regex.match(c) for c in candidates):
            result = not negate
    return result


# --- .dockerignore ---------------------------------------------------------------------------
ignore_path = Path(".dockerignore")
rules = ignore_rules(ignore_path.read_text()) if ignore_path.is_file() else None
if rules is None:
    problem("no .dockerignore: the whole folder (.git, caches, data) would be sent to the build")
    rules = []
else:
    for path, label in MUST_IGNORE.items():
        if not ignored(path, rules):
            problem(f".dockerignore does not exclude {label}")
    for path, label in MUST_KEEP.items():
        if ignored(path, rules):
            problem(f".dockerignore excludes {label}, which the image needs")

# --- the Dockerfile --------------------------------------------------------------------------
raw = Path("Dockerfile").read_bytes() if Path("Dockerfile").is_file() else b""
try:
    parser = DockerfileParser(fileobj=io.BytesIO(raw))
    structure = parser.structure
    parents = parser.parent_images
except Exception as error:  # a Dockerfile dockerfile-parse cannot read
    print(f"the Dockerfile cannot be parsed: {type(error).__name__}")
    sys.exit(1)

stages, names = [], []
for item in structure:
    if item["instruction"] == "FROM":
        words = item["value"].split()
        names.append(words[-1].lower() if len(words) >= 3 and words[-2].lower() == "as" else None)
        stages.append([])
    elif stages:
        stages[-1].append(item)
if not stages:
    print("the Dockerfile has no FROM")
    sys.exit(1)

for index, image in enumerate(parents):
    if image.lower() in names[:index]:
        continue  # FROM an earlier stage
    name, digest = [*image.split("@", 1), ""][:2]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    if digest.startswith("sha256:"):
        continue
    if not tag or tag == "latest" or not re.search(r"\d", tag) or "$" in tag:
        problem(f"FROM {image}: pin the base image to a version tag (or a digest), never latest")

final = stages[-1]


def flags_and_args(value):
    words = shlex.split(value, posix=True) if not value.lstrip().startswith("[") else None
    if words is None:
        try:
            words = json.loads(value)
        except ValueError:
            words = value.split()
    flags = [w for w in words if w.startswith("--")]
    args = [w for w in words if not w.startswith("--")]
    return flags, args


def exec_words(value):
    value = value.strip()
    if value.startswith("["):
        try:
            return [str(w) for w in json.loads(value)]
        except ValueError:
            pass
    try:
        return shlex.split(value)
    except ValueError:
        return value.split()


def brings(source, path):
    """Whether a COPY source brings a file of the context (a file, a glob, a folder or .)."""
    source = clean(source)
    if source == "":
        return True
    regex = pattern_regex(source)
    parts = path.split("/")
    return any(regex.match("/".join(parts[: k + 1])) for k in range(len(parts)))


def copies(stage):
    """(position, sources, from-stage or None) of every COPY/ADD of a stage."""
    found = []
    for position, item in enumerate(stage):
        if item["instruction"] in ("COPY", "ADD"):
            flags, args = flags_and_args(item["value"])
            origin = next((f.split("=", 1)[1].lower() for f in flags if f.startswith("--from=")), None)
            found.append((position, args[:-1], origin))
    return found


def installs(item):
    text = item["value"]
    return (
        item["instruction"] == "RUN"
        and "pip" in text
        and "requirements.txt" in text
        and ("install" in text or "wheel" in text)
    )


for stage in stages:
    for _position, sources, origin in copies(stage):
        if origin is not None:
            continue
        for source in sources:
            if (
                not any(ch in source for ch in "*?[")
                and clean(source) not in ("",)
                and clean(source) not in CONTEXT
            ):
                problem(f"COPY {source}: there is no such file in the build context")
            elif clean(source) in CONTEXT and ignored(clean(source), rules):
                problem(f"COPY {source}: .dockerignore excludes it, so the build would not find it")

final_copies = copies(final)
app_positions = [
    p
    for p, sources, origin in final_copies
    if origin is None and any(brings(s, f"{MODULE}.py") for s in sources)
]
model_copied = any(
    origin is None and any(brings(s, "model.onnx") for s in sources) for _, sources, origin in final_copies
)
if not app_positions:
    problem("the final stage never copies the app module (<module>.py) into the image")
else:
    first_app = app_positions[0]
    before = final[:first_app]
    installed = False
    for position, item in enumerate(before):
        if installs(item):
            earlier = [
                s for p, sources, origin in final_copies if p < position and origin is None for s in sources
            ]
            if any(brings(s, "requirements.txt") for s in earlier):
                installed = True
    for position, _sources, origin in final_copies:
        if position < first_app and origin is not None and origin in names[:-1]:
            builder = stages[names.index(origin)]
            if any(installs(item) for item in builder):
                installed = True
    if not installed:
        problem(
            "install the dependencies (COPY requirements.txt, then RUN pip install -r requirements.txt) "
            "before the COPY that brings the app module, so a code change keeps the dependency layer cached"
        )
if not model_copied:
    problem("the final stage never copies model.onnx into the image")

users = [item["value"].strip() for item in final if item["instruction"] == "USER"]
if not users:
    problem("no USER in the final stage: the container would run as root")
elif users[-1].split(":")[0].strip().lower() in ("root", "0", ""):
    problem(f"USER {users[-1]}: the last USER of the final stage must not be root")

exposed = set()
for item in final:
    if item["instruction"] == "EXPOSE":
        for word in item["value"].split():
            exposed.add(word.split("/")[0])
if exposed != {str(PORT)}:
    problem(f"EXPOSE {' '.join(sorted(exposed)) or '(none)'}: expose exactly the service's port")

checks = [item["value"] for item in final if item["instruction"] == "HEALTHCHECK"]
if not checks or checks[-1].strip().upper() == "NONE":
    problem("no HEALTHCHECK in the final stage")
else:
    # every URL in the health check, as (port, path): exactly this service's, and nothing else
    urls = re.findall(r"://[^/\s'\"]*:(\d+)(/[^\s'\"(),;]*)?", checks[-1])
    if not urls or any((port, path) != (str(PORT), HEALTH) for port, path in urls):
        problem("the HEALTHCHECK does not request the service's health path on its port")

entry = [item for item in final if item["instruction"] in ("ENTRYPOINT", "CMD")]
words = []
for kind in ("ENTRYPOINT", "CMD"):
    last = [item for item in entry if item["instruction"] == kind]
    if last:
        words += exec_words(last[-1]["value"])
command = " ".join(words)
apps = [word for word in words if re.fullmatch(r"[\w.]+:\w+", word)]
if "uvicorn" not in command or apps != [f"{MODULE}:app"]:
    problem("CMD should start uvicorn with the service's <module>:app (and no other app)")
if re.findall(r"--host[= ](\S+)", command) != ["0.0.0.0"]:
    problem("uvicorn must listen on --host 0.0.0.0 (127.0.0.1 is unreachable from outside the container)")
if re.findall(r"--port[= ](\S+)", command) != [str(PORT)]:
    problem("uvicorn's --port is not the service's port (give it once)")

for line in problems:
    print("-", line)
print(f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
