"""The ipykernel application our zygote's forks run: ipykernel's own, with a graded run's
avoidable per-cell costs removed and its behaviour unchanged.

Why: a graded notebook is short cells run once, and ipykernel spends a few milliseconds
of CPU on each cell besides the cell's own work. Two of those costs have nothing to do
with what a cell computes or shows, so they are cut here, each with a result identical
to ipykernel's:

- ipykernel names every cell's code after a pure-Python murmur2 hash of its source (the
  name the debugger shows). ``murmur2_x86`` below computes the same hash from 32-bit
  words unpacked at once, about four times faster.
- ipykernel transforms every cell's source (IPython's magics and shell escapes) twice:
  once to decide how to run it, and again inside ``run_cell``. ``TransformMemo`` hands
  the second call the first call's result, which it would recompute from the same
  source with the same transformers.
- ipykernel reads ``run_cell``'s signature (``inspect.signature``) on every cell to see
  which keywords it takes; ``remembered_signatures`` keeps the answer per function.
- The kernel's logger records debug messages that its only handler, at warning level,
  then drops; its level is raised to what its handlers keep.

And ``warm_caches`` runs in the zygote, before any fork: it fills two caches every
kernel would otherwise fill for itself, the same way, on its first cell or first
traceback.
"""

from __future__ import annotations

import inspect
import io
import struct
import sys
import tokenize
from collections.abc import Callable, Sequence
from typing import Any

from ipykernel import compiler, ipkernel
from ipykernel.kernelapp import IPKernelApp
from traitlets.config import Config

_MASK = 0xFFFFFFFF
_M = 0x5BD1E995


def murmur2_x86(data: str, seed: int) -> int:
    """``ipykernel.compiler.murmur2_x86``, the same hash of ``data``'s UTF-8 bytes."""
    raw = data.encode("utf8")
    length = len(raw)
    h = seed ^ length
    rounded_end = length & 0xFFFFFFFC
    for (k,) in struct.iter_unpack("<I", raw[:rounded_end]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 0x03
    if tail:
        k = 0
        if tail == 3:
            k = raw[rounded_end + 2] << 16
        if tail >= 2:
            k |= raw[rounded_end + 1] << 8
        k |= raw[rounded_end]
        h ^= k
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


class TransformMemo:
    """The shell's ``transform_cell``, computing each execution's transform once.

    ipykernel's ``do_execute`` transforms the source, then ``run_cell`` transforms the same
    source again before any of the cell's code runs. The first result is kept and given
    to the next call with the same source, once; it is dropped after every execution, so
    a later cell always gets a fresh transform.
    """

    def __init__(self, shell: Any) -> None:
        self._transform = shell.transform_cell
        self._kept: tuple[str, str] | None = None
        shell.events.register("post_execute", self.forget)

    def __call__(self, raw_cell: str) -> str:
        kept, self._kept = self._kept, None
        if kept is not None and kept[0] == raw_cell:
            return kept[1]
        cell: str = self._transform(raw_cell)
        self._kept = (raw_cell, cell)
        return cell

    def forget(self) -> None:
        self._kept = None


def remembered_signatures(
    accepts_parameters: Callable[[Any, Sequence[str]], dict[str, bool]],
) -> Callable[[Any, Sequence[str]], dict[str, bool]]:
    """ipykernel's ``_accepts_parameters``, answered once per function and parameter names.

    A function's signature does not change; a method is looked up by its function, and a
    callable that cannot be a dictionary key is simply asked every time.
    """
    answers: dict[tuple[Any, tuple[str, ...]], dict[str, bool]] = {}

    def accepts(meth: Any, param_names: Sequence[str]) -> dict[str, bool]:
        key = (getattr(meth, "__func__", meth), tuple(param_names))
        try:
            return dict(answers[key])
        except KeyError:
            answer = accepts_parameters(meth, param_names)
            answers[key] = dict(answer)
            return answer
        except TypeError:  # unhashable
            return accepts_parameters(meth, param_names)

    return accepts


class GradedKernelApp(IPKernelApp):
    """``IPKernelApp`` configured by a traitlets ``Config`` object rather than argv.

    Building traitlets' argument parser for every kernel class cost a kernel about 20 ms
    of its start; the settings are the same as the command line would give.
    """

    def parse_command_line(self, argv: Any = None) -> None:
        """Configured already: see ``launch``."""

    def init_kernel(self) -> None:
        super().init_kernel()  # type: ignore[no-untyped-call]  # ipykernel is untyped
        shell = self.kernel.shell
        shell.transform_cell = TransformMemo(shell)
        if self.log.handlers and not self.log.propagate:
            self.log.setLevel(max(self.log.level, min(handler.level for handler in self.log.handlers)))


def warm_caches() -> None:
    """Fill, once in the zygote, the caches each kernel would fill on first use.

    - ``inspect.getmodule``, which IPython's tracebacks call, maps every loaded module's
      file on its first miss: with scikit-learn loaded that scan took a kernel about
      0.2 s of CPU on its first traceback. Mapped here, a kernel scans only the modules
      it imports itself.
    - ``tokenize`` compiles its patterns on first use (IPython tokenizes every cell).
    - Libraries that cache a scan of the installed packages on first use, when the
      zygote has them loaded: scikit-learn's first input check asks narwhals for its
      plugins, which reads every installed package's entry points (about 40 ms).
    """
    inspect.getmodule(warm_caches.__code__, "<not a module file>")
    inspect.getmodule(sys._getframe())
    for _ in tokenize.generate_tokens(io.StringIO("x = 1  # warm\n").readline):
        pass
    for module, function in FIRST_USE_CACHES:
        cached = getattr(sys.modules.get(module), function, None)
        if callable(cached):
            cached()


FIRST_USE_CACHES = (("narwhals.plugins", "_discover_entrypoints"),)
"""(module, function): a cached function each kernel would call on first use, called once
in the zygote if the module is loaded there. Each depends only on the installed packages."""


def launch(connection_file: str) -> None:
    """``python -m ipykernel_launcher -f FILE``, in this (forked) process."""
    compiler.murmur2_x86 = murmur2_x86
    # A private ipykernel helper, so not among its exports.
    ipkernel._accepts_parameters = remembered_signatures(ipkernel._accepts_parameters)  # type: ignore[attr-defined]
    config = Config()
    config.IPKernelApp.connection_file = connection_file
    # A graded run has no use for IPython's input history (an SQLite file written per cell).
    config.HistoryManager.enabled = False
    sys.argv = [sys.executable, "-f", connection_file, "--HistoryManager.enabled=False"]  # as launched
    GradedKernelApp.launch_instance(argv=[], config=config)
