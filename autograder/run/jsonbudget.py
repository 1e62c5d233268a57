"""How much memory a JSON text will take once decoded, judged before decoding it.

Why: what a learner's kernel sends (a check report, an output) and what a learner submits
(a notebook) are JSON, and JSON's size on the wire says little about its size in Python:
``[{},{},...]`` is three bytes per empty dict, and each dict costs the grader about 64
bytes once decoded, so 15 MB of text became over a gigabyte. ``json.loads`` cannot be
stopped halfway, so the grader estimates the decoded size from the raw bytes first (a
few ``bytes.count`` calls, each a C loop over the text) and refuses what is over budget.

The estimate errs on the large side: every comma stands for a pointer and a small object
(a float costs 24 bytes, plus the list's 8-byte slot), every opening brace or bracket for
an empty container, every quote for half a string object. A notebook of base64 images
or a long text is estimated at about its own size; a structure of many tiny objects at
up to some thirty times its size, which is what decoding it would really cost.
"""

from __future__ import annotations

COMMA_BYTES = 32
"""A list or dict entry: the container's slot and a boxed number (float: 24 bytes)."""
CONTAINER_BYTES = 64
"""An empty dict or list object (``sys.getsizeof({})`` is 64, ``[]`` 56)."""
QUOTE_BYTES = 28
"""Half of a short string object (``sys.getsizeof("")`` is 49), per quote character."""


def decoded_size(raw: bytes | bytearray | memoryview) -> int:
    """An upper-leaning estimate of the bytes ``json.loads(raw)`` would allocate."""
    data = bytes(raw) if isinstance(raw, memoryview) else raw
    containers = data.count(b"{") + data.count(b"[")
    return (
        len(data)
        + COMMA_BYTES * data.count(b",")
        + CONTAINER_BYTES * containers
        + QUOTE_BYTES * data.count(b'"')
    )
