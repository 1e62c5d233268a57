"""(course copy)"""

import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time

from ruamel.yaml import YAML

SHA = re.compile(r"^[^@\s]+@[0-9a-fA-F]{40}$")
DIGEST = re.compile(r"^docker://[^@\s]+@sha256:[0-9a-f]{64}$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
RUN_SECONDS = 55.0


def load(path):
	with open(path, encoding="utf-8") as handle:
		return YAML(typ="safe", pure=True).load(handle)


def triggers(workflow):
	on = workflow.get("on")
	if isinstance(on, str):
		return {on}
	if isinstance(on, list):
		return {str(t) for t in on}
	if isinstance(on, dict):
		return {str(t) for t in on}
	return set()


def python_versions(values):
	"""The versions of a matrix list as strings, and the ones that are no Python 3.8+ version."""
	versions, wrong = [], []
	for value in values if isinstance(values, list) else []:
		text = str(value)
		match = re.fullmatch(r"(pypy)?3\.(\d+)(\.\d+)?(-dev)?", text)
		(versions if match and int(match.group(2)) >= 8 else wrong).append(text)
	return versions, wrong


def problems(workflow):
	"""Every rule of the course the workflow breaks, as sentences."""
	if not isinstance(workflow, dict):
		return ["the file is not a YAML mapping (name:, on:, jobs:)"]
	found = []
	if True in workflow:
		found.append("a key `true` at the top: write `on:` (YAML 1.2 reads it as the string 'on')")
	missing = {"push", "pull_request"} - triggers(workflow)
	if missing:
		found.append(f"`on:` must include {' and '.join(sorted(missing))}")
	jobs = workflow.get("jobs")
	if not isinstance(jobs, dict) or not jobs:
		return found + ["`jobs:` must be a mapping with at least one job"]
	matrix_ok = False
	for job_id, job in jobs.items():
		if not isinstance(job, dict):
			found.append(f"job {job_id!r} is not a mapping")
			continue
		uses = [("job", job["uses"])] if "uses" in job else []
		steps = job.get("steps") if isinstance(job.get("steps"), list) else []
		uses += [(f"step {i + 1}", s["uses"]) for i, s in enumerate(steps) if isinstance(s, dict) and "uses" in s]
		for where, ref in uses:
			ref = str(ref)
			if ref.startswith("./") or SHA.match(ref) or DIGEST.match(ref):
				continue
			found.append(
				f"job {job_id!r}, {where}: `uses: {ref}` is not pinned to a full 40-character commit SHA "
				"(a tag such as @v4 can be moved to other code)"
			)
		timeout = job.get("timeout-minutes")
		if "uses" not in job and not (
			isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= 360
		):
			found.append(f"job {job_id!r} needs `timeout-minutes:` (a number of minutes, at most 360)")
		matrix = (job.get("strategy") or {}).get("matrix") if isinstance(job.get("strategy"), dict) else None
		if isinstance(matrix, dict):
			for key, values in matrix.items():
				if "python" not in str(key).lower():
					continue
				versions, wrong = python_versions(values)
				if wrong:
					found.append(
						f"job {job_id!r}: matrix.{key} holds {wrong}, not Python versions such as '3.11' "
						"(quote versions: unquoted 3.10 is the number 3.1)"
					)
					continue
				if len(set(versions)) < 2:
					continue
				pattern = re.compile(r"\$\{\{\s*matrix\." + re.escape(str(key)) + r"\s*\}\}")
				for step in steps:
					if (
						isinstance(step, dict)
						and "actions/setup-python@" in str(step.get("uses", ""))
						and isinstance(step.get("with"), dict)
						and pattern.search(str(step["with"].get("python-version", "")))
					):
						matrix_ok = True
	if not matrix_ok:
		found.append(
			"no job has a test matrix over at least two Python versions used by its setup-python step "
			"(strategy: matrix: python-version: [...] and with: python-version: ${{ matrix.python-version }})"
		)
	return found


def check(path):
	try:
		workflow = load(path)
	except Exception as error:  # a YAML error, a duplicate key, a missing file
		print(f"{path}: cannot be read as YAML: {' '.join(str(error).split())[:300]}")
		return 1
	found = problems(workflow)
	for sentence in found:
		print(f"{path}: {sentence}")
	print(f"{path}: {'ok' if not found else str(len(found)) + ' problem(s)'}")
	return 1 if found else 0


class Stop(Exception):
	"""The run cannot go on: an unsupported construct."""


def text(value):
	if isinstance(value, bool):
		return "true" if value else "false"
	return "" if value is None else str(value)


def substitute(value, context):
	def replace(match):
		expression = match.group(1).strip()
		head, _, name = expression.partition(".")
		if head in ("matrix", "env", "github", "runner", "secrets") and re.fullmatch(r"[A-Za-z0-9_-]+", name):
			return text(context[head].get(name, ""))
		raise Stop(f"the course's runner cannot evaluate ${{{{ {expression} }}}}")

	return EXPRESSION.sub(replace, text(value))


def job_order(jobs):
	order, seen = [], set()

	def visit(job_id, path):
		if job_id in seen:
			return
		if job_id in path:
			raise Stop(f"jobs need each other in a cycle: {' -> '.join(path + [job_id])}")
		if job_id not in jobs:
			raise Stop(f"a job needs {job_id!r}, which does not exist")
		needs = jobs[job_id].get("needs") or [] if isinstance(jobs[job_id], dict) else []
		for other in [needs] if isinstance(needs, str) else needs:
			visit(str(other), path + [job_id])
		seen.add(job_id)
		order.append(job_id)

	for job_id in jobs:
		visit(job_id, [])
	return order


def first_combination(job):
	strategy = job.get("strategy") or {}
	matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
	if matrix is None:
		return {}
	if not isinstance(matrix, dict):
		raise Stop("the course's runner needs `matrix:` written as a mapping")
	combination = {}
	for key, values in matrix.items():
		if key in ("include", "exclude"):
			continue
		if not isinstance(values, list) or not values:
			raise Stop(f"matrix.{key} must be a non-empty list")
		combination[str(key)] = values[0]
	if not combination and isinstance(matrix.get("include"), list) and matrix["include"]:
		combination = dict(matrix["include"][0])
	return combination


def read_env_file(path):
	values, lines = {}, open(path, encoding="utf-8").read().splitlines()
	i = 0
	while i < len(lines):
		line = lines[i]
		if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
			name, marker = line.split("<<", 1)
			body, i = [], i + 1
			while i < len(lines) and lines[i] != marker:
				body.append(lines[i])
				i += 1
			values[name] = "\n".join(body)
		elif "=" in line:
			name, value = line.split("=", 1)
			values[name] = value
		i += 1
	return values


def truthy(value):
	return value is True or (isinstance(value, str) and value.strip().lower() not in ("", "false", "0"))


def run_step(command, workspace, env, seconds):
	process = subprocess.Popen(command, cwd=workspace, env=env, start_new_session=True)
	try:
		return process.wait(timeout=max(seconds, 1.0))
	except subprocess.TimeoutExpired:
		os.killpg(process.pid, 9)
		process.wait()
		print(f"::error:: the step ran out of time ({seconds:.0f} s)")
		return 124


def run(path):
	ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE=0: steps cannot ptrace the runner
	started = time.monotonic()
	workspace = os.getcwd()
	workflow = load(path)
	if not isinstance(workflow, dict) or not isinstance(workflow.get("jobs"), dict):
		raise Stop("the workflow has no `jobs:` mapping")
	jobs = workflow["jobs"]
	scratch = tempfile.mkdtemp(prefix="runner-")
	tools = os.path.dirname(sys.executable)
	base = dict(os.environ)
	base.update(
		PATH=f"{tools}:/usr/local/bin:/usr/bin:/bin",
		CI="true",
		GITHUB_ACTIONS="true",
		GITHUB_WORKSPACE=workspace,
		GITHUB_EVENT_NAME="push",
		GITHUB_REF="refs/heads/main",
		GITHUB_SHA="0" * 40,
		RUNNER_OS="Linux",
		RUNNER_TEMP=scratch,
		PIP_NO_INDEX="1",
		PIP_DISABLE_PIP_VERSION_CHECK="1",
		PIP_CONFIG_FILE=os.devnull,
		PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
		PYTHONDONTWRITEBYTECODE="1",
	)
	github = {"event_name": "push", "ref": "refs/heads/main", "sha": "0" * 40, "workspace": workspace,
			  "repository": "course/minitrain", "ref_name": "main", "run_id": "1", "run_number": "1"}
	runner = {"os": "Linux", "arch": "X64", "temp": scratch}
	defaults = ((workflow.get("defaults") or {}).get("run") or {})
	for job_id in job_order(jobs):
		job = jobs[job_id]
		if not isinstance(job, dict):
			raise Stop(f"job {job_id!r} is not a mapping")
		if "if" in job:
			print(f"== job {job_id}: skipped (the course's runner skips jobs with `if:`)")
			continue
		if "uses" in job:
			raise Stop(f"job {job_id!r} calls a reusable workflow, which the course's runner cannot run")
		matrix = first_combination(job)
		context = {"matrix": matrix, "github": github, "runner": runner, "secrets": {}, "env": {}}
		env = dict(base)
		for scope in (workflow.get("env") or {}, job.get("env") or {}):
			for name, value in scope.items():
				env[str(name)] = context["env"][str(name)] = substitute(value, context)
		job_defaults = {**defaults, **(((job.get("defaults") or {}).get("run")) or {})}
		print(f"== job {job_id}" + (f" (matrix {matrix})" if matrix else ""), flush=True)
		job_failed = 0
		for number, step in enumerate(job.get("steps") or [], 1):
			if not isinstance(step, dict):
				raise Stop(f"job {job_id!r}: step {number} is not a mapping")
			name = step.get("name") or step.get("uses") or str(step.get("run", "")).strip().splitlines()[0:1]
			if "uses" in step:
				print(f"-- step {number} ({name}): skipped, actions are not downloaded here", flush=True)
				continue
			if "if" in step:
				print(f"-- step {number} ({name}): skipped (the course's runner skips steps with `if:`)")
				continue
			if "run" not in step:
				raise Stop(f"job {job_id!r}: step {number} has neither `run:` nor `uses:`")
			step_env = dict(env)
			step_context = {**context, "env": dict(context["env"])}
			for key, value in (step.get("env") or {}).items():
				step_env[str(key)] = step_context["env"][str(key)] = substitute(value, step_context)
			script = substitute(step["run"], step_context)
			shell = str(step.get("shell") or job_defaults.get("shell") or "bash")
			folder = step.get("working-directory") or job_defaults.get("working-directory") or "."
			folder = os.path.realpath(os.path.join(workspace, substitute(folder, step_context)))
			if not (folder == workspace or folder.startswith(workspace + os.sep)) or not os.path.isdir(folder):
				raise Stop(f"job {job_id!r}: step {number}'s working-directory is not a folder of the repository")
			script_file = os.path.join(scratch, f"step-{job_id}-{number}")
			with open(script_file, "w", encoding="utf-8") as handle:
				handle.write(script + "\n")
			commands = {
				"bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", script_file],
				"sh": ["sh", "-e", script_file],
				"python": [sys.executable, script_file],
			}
			if shell not in commands:
				raise Stop(f"job {job_id!r}: step {number}: the course's runner supports shell bash, sh or python")
			for special in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
				step_env[special] = os.path.join(scratch, f"{special.lower()}-{job_id}-{number}")
				open(step_env[special], "w").close()
			limit = RUN_SECONDS - (time.monotonic() - started)
			if isinstance(step.get("timeout-minutes"), (int, float)):
				limit = min(limit, 60.0 * step["timeout-minutes"])
			print(f"-- step {number} ({name})", flush=True)
			code = run_step(commands[shell], folder, step_env, limit)
			for key, value in read_env_file(step_env["GITHUB_ENV"]).items():
				env[key] = context["env"][key] = value
			added = [line.strip() for line in open(step_env["GITHUB_PATH"], encoding="utf-8") if line.strip()]
			if added:
				env["PATH"] = ":".join(reversed(added)) + ":" + env["PATH"]
			if code != 0:
				if truthy(step.get("continue-on-error")):
					print(f"-- step {number} failed ({code}), continue-on-error: going on")
					continue
				job_failed = code if code > 0 else 128 - code
				print(f"-- step {number} failed with exit code {code}", flush=True)
				break
		if job_failed:
			if truthy(job.get("continue-on-error")):
				print(f"== job {job_id} failed, continue-on-error: going on")
				continue
			print(f"workflow failed in job {job_id}")
			return job_failed
	print("workflow succeeded")
	return 0


def main(argv):
	if len(argv) != 3 or argv[1] not in ("check", "run"):
		print(__doc__)
		return 2
	if argv[1] == "check":
		return check(argv[2])
	try:
		return run(argv[2])
	except Stop as stop:
		print(f"::error:: {stop}")
		return 3
	except Exception as error:  # the workflow could not be read
		print(f"::error:: {type(error).__name__}: {' '.join(str(error).split())[:300]}")
		return 3


if __name__ == "__main__":
	sys.exit(main(sys.argv))
