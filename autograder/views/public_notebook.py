"""What a page may show of a learner's executed notebook and of the markdown they wrote.

Executed runs in the evidence hold the restored test cells (hidden tests included) and
the check reports the grader collected; ``public_notebook`` keeps neither: autograded test
cells become a one-line placeholder, outputs carrying the report MIME type are dropped,
and so is papermill's injected-parameters cell. Everything else came from the learner's
kernel, so it is rendered as data, never as markup: markdown through markdown-it with raw
HTML off (links shown as text, images only when embedded), outputs as plain text and
embedded PNG/JPEG images only. ``offline_problems`` is the last check a page passes: no
script, no frame, no address to load.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from typing import Any

import nbformat
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from nbformat import NotebookNode

from ..protocol import MIME_TYPE

KEPT_OUTPUT_TYPES = ("text/plain", "image/png", "image/jpeg")
"""What a rendered notebook's outputs keep: text, and images that are embedded bytes."""


# ---------------------------------------------------------------- what a page may show of a notebook


def _is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell (as ``reports.grade_cells`` finds them), or any cell that holds a
    hidden test, whatever its metadata says."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
        return True
    return "BEGIN HIDDEN TESTS" in str(cell.get("source", ""))


_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


def _embedded_image(data: Any) -> bool:
    if not isinstance(data, str) or not _BASE64.fullmatch(data):
        return False
    try:
        base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _public_output(output: NotebookNode) -> NotebookNode | None:
    """An output as the page may show it: no check report, plain text and embedded images only."""
    kind = output.get("output_type")
    if kind == "stream":
        return _new_output("stream", name=output.get("name", "stdout"), text=str(output.get("text", "")))
    if kind == "error":
        return _new_output(
            "error",
            ename=str(output.get("ename", "")),
            evalue=str(output.get("evalue", "")),
            traceback=[str(line) for line in output.get("traceback", [])],
        )
    data = output.get("data", {})
    if kind not in ("display_data", "execute_result") or MIME_TYPE in data:
        return None  # a check report (even with a plain-text form) never shows
    kept = {}
    for mime in KEPT_OUTPUT_TYPES:
        value = data.get(mime)
        if mime == "text/plain" and isinstance(value, str | list):
            kept[mime] = "".join(value) if isinstance(value, list) else value
        elif mime != "text/plain" and _embedded_image(value):
            kept[mime] = "".join(str(value).split())
    if not kept:
        return None
    if kind == "execute_result":
        return _new_output(kind, data=kept, execution_count=output.get("execution_count"))
    return _new_output(kind, data=kept)


def _new_output(kind: str, **fields: Any) -> NotebookNode:
    node: NotebookNode = nbformat.v4.new_output(kind, **fields)  # type: ignore[no-untyped-call]
    return node


def public_notebook(nb: NotebookNode) -> NotebookNode:
    """A copy of an executed notebook without test cells, check reports, injected parameters,
    raw cells, attachments or metadata: what a page may render of it."""
    clean: NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    clean.metadata = {
        key: nb.metadata[key] for key in ("kernelspec", "language_info") if key in nb.get("metadata", {})
    }
    for index, cell in enumerate(nb.cells):
        cell_id = str(cell.get("id") or f"cell-{index}")
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "raw" or "injected-parameters" in tags:
            continue
        if _is_test_cell(cell):
            note = "*A test cell of the grader: not shown. Its checks are scored above.*"
            clean.cells.append(nbformat.v4.new_markdown_cell(note, id=cell_id))  # type: ignore[no-untyped-call]
        elif cell.cell_type == "markdown":
            clean.cells.append(nbformat.v4.new_markdown_cell(str(cell.source), id=cell_id))  # type: ignore[no-untyped-call]
        elif cell.cell_type == "code":
            code = nbformat.v4.new_code_cell(str(cell.source), id=cell_id)  # type: ignore[no-untyped-call]
            count = cell.get("execution_count")
            code.execution_count = count if isinstance(count, int) else None
            code.outputs = [
                o for o in (_public_output(out) for out in cell.get("outputs", [])) if o is not None
            ]
            clean.cells.append(code)
    return clean


_QUIET = logging.getLogger("autograder.portfolio.nbconvert")
_QUIET.setLevel(
    logging.ERROR
)  # nbconvert warns of outputs' images without alt text: not the reader's business


def render_notebook(nb: NotebookNode) -> str:
    """``public_notebook(nb)`` as an HTML fragment by nbconvert's ``basic`` template: no
    page head, no script, no CDN; markdown by ``render_markdown``."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]
        template_name="basic", filters={"markdown2html": render_markdown}, log=_QUIET
    )
    body, _ = exporter.from_notebook_node(public_notebook(nb))
    return str(body)


# ---------------------------------------------------------------- markdown a learner wrote


def _link_open(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    env.setdefault("links", []).append(str(tokens[idx].attrGet("href") or ""))
    return '<span class="link">'


def _link_close(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    target = env["links"].pop() if env.get("links") else ""
    shown = (
        f' <span class="muted">[{escapeHtml(target)}]</span>' if target and not target.startswith("#") else ""
    )
    return "</span>" + shown


def _image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    head, _, data = src.partition(",")
    if head in ("data:image/png;base64", "data:image/jpeg;base64") and _embedded_image(data):
        return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}">'
    return f'<span class="muted">[image: {escapeHtml(alt or "not embedded")}]</span>'


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


_MD = _markdown()


def render_markdown(text: str) -> str:
    """A learner's markdown as HTML: raw HTML escaped, links as text, only embedded images."""
    return str(_MD.render(str(text), {}))


_ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "link", "base", "form", "applet"}
_ADDRESS_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "background",
    "xlink:href",
    "data",
}
_EMBEDDED = re.compile(r"data:image/(png|jpeg|svg\+xml);base64,[A-Za-z0-9+/=]*\Z")
_CSS_LOAD = re.compile(r"url\s*\(|@import|expression\s*\(", re.I)


class _Inspector(HTMLParser):
    """Every tag and attribute of a page as a browser would see them (text is only text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self.problems.append(f"<{tag}>")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            self.problems.append("<meta http-equiv>")
        self._in_style = tag == "style"
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            elif name == "style" and _CSS_LOAD.search(value):
                self.problems.append(f"<{tag} style> loads {value[:40]!r}")
            elif name in _ADDRESS_ATTRIBUTES:
                if name == "href" and value.startswith("#"):
                    continue
                if name == "src" and tag == "img" and _EMBEDDED.match(value):
                    continue
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_LOAD.search(data):
            self.problems.append("a style sheet that loads something")


def offline_problems(page: str) -> list[str]:
    """What in ``page`` would run a script or load something: empty for a page safe to write."""
    inspector = _Inspector()
    inspector.feed(page)
    inspector.close()
    return inspector.problems
