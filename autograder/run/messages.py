"""The wire from a kernel to the grader: each message read within a budget, or not at all.

A learner's kernel can send anything, so the grader caps a message's size on the socket
(ZeroMQ), estimates its decoded size before decoding it (``jsonbudget``), and mends text
that UTF-8 cannot hold, so that every file it writes later stays valid.
"""

from __future__ import annotations

import re
import time
from hmac import compare_digest
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.adapter import adapt
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.session import Session

from .jsonbudget import decoded_size

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest single message the grader accepts from a kernel; ZeroMQ drops bigger ones."""


MAX_DECODED_MESSAGE = 32 * 1024 * 1024
"""The most memory one message's content may take once decoded (``jsonbudget``); a larger
one is not decoded at all, and the run stops as after an output flood."""


DROPPED = "autograder_dropped"
"""Marks the content of a message that was too large to decode (its estimated size)."""


SIZE = "autograder_size"
"""The estimated decoded size of a message's content, kept beside the message."""


class LeanSession(Session):
    """jupyter_client's session without turning every header's date strings into datetimes.

    Why: that parsing was half of the grader's cost of reading a message, and a graded
    run reads its timings from papermill, not from message headers (nbclient's
    ``record_timing`` is off and accepts either form).
    """

    def deserialize(self, msg_list: Any, content: bool = True, copy: bool = True) -> dict[str, Any]:
        if not copy or len(msg_list) < 5:  # the rare forms: jupyter_client's own path and errors
            return super().deserialize(msg_list, content=content, copy=copy)
        if self.auth is not None:
            signature = msg_list[0]
            if not signature:
                raise ValueError("Unsigned Message")
            if signature in self.digest_history:
                raise ValueError(f"Duplicate Signature: {signature!r}")
            if content:
                self._add_digest(signature)
            if not compare_digest(signature, self.sign(msg_list[1:5])):
                raise ValueError(f"Invalid Signature: {signature!r}")
        frames = [bytes(frame) for frame in msg_list[1:5]]
        if any(decoded_size(frame) > MAX_DECODED_MESSAGE for frame in frames[:3]):
            raise ValueError("a message header too large to read")
        header = self._unpack_text(frames[0])
        size = decoded_size(frames[3])
        if not content:
            body: Any = msg_list[4]
        elif size > MAX_DECODED_MESSAGE:
            body = {DROPPED: size}  # never decoded: the client stops the run (``GradingClient.output``)
        else:
            body = self._unpack_text(frames[3])
        message: dict[str, Any] = {
            "header": header,
            "msg_id": header["msg_id"],
            "msg_type": header["msg_type"],
            "parent_header": self._unpack_text(frames[1]),
            "metadata": self._unpack_text(frames[2]),
            "content": body,
            "buffers": [memoryview(buffer) for buffer in msg_list[5:]],
            SIZE: size,
        }
        return adapt(message)

    def _unpack_text(self, frame: bytes) -> Any:
        """Decode one frame; text that UTF-8 cannot hold (a lone surrogate, which JSON's
        ``\\udXXX`` escapes allow) is mended so that every file the grader writes stays valid."""
        value = self.unpack(frame)
        return mend_text(value) if LONE_SURROGATE.search(frame) else value


LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
"""A JSON escape of a UTF-16 surrogate: the only way a lone one reaches a decoded string."""


def mend_text(value: Any) -> Any:
    """``value`` with every string UTF-8-encodable: lone surrogates become ``?``."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, list):
        return [mend_text(item) for item in value]
    if isinstance(value, dict):
        return {mend_text(key): mend_text(item) for key, item in value.items()}
    return value


def client_class(context: zmq.asyncio.Context) -> type[AsyncKernelClient]:
    """A kernel client class whose sockets come from ``context`` (and so share its limits)."""

    class LimitedKernelClient(AsyncKernelClient):
        def __init__(self, **kwargs: Any) -> None:
            kwargs["context"] = context
            super().__init__(**kwargs)

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            """jupyter_client's wait, without its fixed 0.2 s of listening for stray IOPub messages.

            Execution only reads messages whose parent is its own request, so a late status
            message from the handshake is ignored anyway.
            """
            deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
            while True:
                self.kernel_info()
                try:
                    msg = await self.shell_channel.get_msg(timeout=0.5)
                except Empty:
                    pass
                else:
                    if msg["msg_type"] == "kernel_info_reply":
                        try:  # IOPub is connected once the kernel's status messages arrive
                            await self.iopub_channel.get_msg(timeout=0.5)
                        except Empty:
                            pass
                        else:
                            self._handle_kernel_info_reply(msg)
                            break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout} s")
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.005)
                except Empty:
                    break

    return LimitedKernelClient


def limited_context(max_message: int) -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets refuse any single message over ``max_message`` bytes."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, max_message)
    context.setsockopt(zmq.RECONNECT_IVL, 10)  # reach a kernel that binds its sockets a moment later
    return context
