"""Our kernel application cuts per-cell costs without changing what a cell does or shows:
IPython's own syntax runs in a forked, sandboxed kernel exactly as in a stock ipykernel."""

from __future__ import annotations

import inspect
import json
import os
import random
import string
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from ipykernel.compiler import murmur2_x86 as ipykernel_murmur2
from ipykernel.kernelbase import _accepts_parameters
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course.config import make_sandbox
from autograder.run.execute import run_notebook, scratch_copy
from autograder.run.kernelapp import FIRST_USE_CACHES, murmur2_x86, remembered_signatures, warm_caches

IPYTHON_SYNTAX = [
    "x = 1\nx",
    "a = !echo hi\nprint(a)",
    "!echo there",
    "def f():\n    '''The docstring.'''\n\nf?",
    "%%capture captured\nprint('inside')",
    "print(captured.stdout)",
    "%who_ls",
    "import asyncio\n\nawait asyncio.sleep(0)\nprint('top-level await')",
    "[1,\n, 2]",
    "1 / 0",
    "x + 1",
    "get_ipython().transform_cell('%ls -d /')",
    "print(__name__, type(get_ipython()).__name__)",
    "print(10)",
    "get_ipython().input_transformers_post.append(lambda ls: [s.replace('10', '20') for s in ls])",
    "print(10)",  # the same source as before: transformed afresh, with the new transformer
]


def test_murmur2_is_ipykernels_hash():
    rng = random.Random(7)
    alphabet = string.printable + "éß中😀"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        assert murmur2_x86(text, 0xC70F6907) == ipykernel_murmur2(text, 0xC70F6907), text


def test_remembered_signatures_answer_as_ipykernel_does():
    class Shell:
        def run_cell(self, raw_cell, *, cell_id=None): ...

        def run_cell_async(self, raw_cell, **kwargs): ...

    def plain(raw_cell): ...

    accepts = remembered_signatures(_accepts_parameters)
    names = ["cell_id", "cell_meta"]
    for meth in (Shell().run_cell, Shell().run_cell_async, plain, Shell().run_cell, plain):
        assert accepts(meth, names) == _accepts_parameters(meth, names)
    assert accepts(Shell().run_cell, names) == {"cell_id": True, "cell_meta": False}


def test_warm_caches_map_every_loaded_module_for_tracebacks():
    import nbformat as a_loaded_module
    import sklearn.utils.validation  # noqa: F401 - loads narwhals, as a notebook's imports would

    warm_caches()
    assert inspect.modulesbyfile[inspect.getabsfile(a_loaded_module)] == "nbformat"
    for module, function in FIRST_USE_CACHES:  # still there, and filled
        assert getattr(sys.modules[module], function).cache_info().currsize == 1, (module, function)


def _outputs(nb: nbformat.NotebookNode) -> list[list[dict]]:
    keep = ("output_type", "name", "text", "data", "ename", "evalue", "traceback")
    return [[{k: v for k, v in out.items() if k in keep} for out in cell.outputs] for cell in nb.cells]


@pytest.mark.skipif(os.geteuid() != 0, reason="warm kernels are forked by root only")
def test_ipython_syntax_runs_as_in_a_stock_kernel(settings):
    nb = new_notebook(cells=[new_code_cell(source) for source in IPYTHON_SYNTAX])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    stock = nbformat.from_dict(json.loads(json.dumps(nb)))
    NotebookClient(stock, kernel_name="python3", allow_errors=True, timeout=60).execute()
    sandbox = make_sandbox(settings)
    assert sandbox is not None and sandbox.warm
    with scratch_copy(Path(tempfile.mkdtemp())) as cwd:
        ours = run_notebook(nb, {}, cwd, limits=settings.limits, sandbox=sandbox).notebook
    assert _outputs(ours) == _outputs(stock)
    texts = [out.get("text", "") for cell in ours.cells for out in cell.outputs]
    assert texts[-2:] == ["10\n", "20\n"]
    assert "['hi']\n" in texts and "inside\n\n" in texts and "top-level await\n" in texts
