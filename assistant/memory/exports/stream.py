"""Reading a JSON array one element at a time, from a byte stream, in bounded memory.

An export's conversations file is one JSON array that may be hundreds of megabytes: it is
read in chunks, and each element is decoded with `json.JSONDecoder.raw_decode` as soon as the
buffer holds all of it. Memory holds one element (the largest conversation) and a chunk.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable, Iterator
from typing import IO, Any

CHUNK_BYTES = 1 << 20
# How near the buffer's end a decoding error must be to mean "the element is not all here yet".
_TRUNCATION_SLACK = 64


class ArraySyntaxError(ValueError):
    """The array is not valid JSON from here on; `position` counts characters from the start."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position})")
        self.position = position


class ArrayReader:
    """Yields the elements of the JSON array in `stream`; `consumed` counts the bytes read so far."""

    def __init__(
        self, stream: IO[bytes], *, chunk_bytes: int = CHUNK_BYTES, on_read: Callable[[int], None] | None = None
    ) -> None:
        self.stream = stream
        self.chunk_bytes = chunk_bytes
        self.on_read = on_read
        self.consumed = 0
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._offset = 0  # characters dropped from the buffer's front
        self._eof = False

    def _fill(self, at_least: int = 0) -> bool:
        """Read more into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        wanted = max(self.chunk_bytes, at_least)
        data = self.stream.read(wanted)
        self.consumed += len(data)
        if self.on_read is not None:
            self.on_read(self.consumed)
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise ArraySyntaxError(f"not UTF-8 text ({error.reason})", self._offset + len(self._buffer)) from None
        if self._pos:
            self._buffer, self._offset, self._pos = self._buffer[self._pos :], self._offset + self._pos, 0
        self._buffer += text
        if not data:
            self._eof = True
        return True

    def _peek(self) -> str:
        """The next character that is not whitespace ("" at the end)."""
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if not self._fill():
                return ""

    def first_character(self) -> str:
        return self._peek()

    def __iter__(self) -> Iterator[Any]:
        if self._peek() != "[":
            raise ArraySyntaxError("expected a JSON array", self._offset + self._pos)
        self._pos += 1
        if self._peek() == "]":
            return
        while True:
            if self._peek() == "":
                raise ArraySyntaxError("the file ends inside the array", self._offset + self._pos)
            yield self._element()
            following = self._peek()
            if following == ",":
                self._pos += 1
            elif following == "]":
                return
            else:
                raise ArraySyntaxError("expected ',' or ']' between entries", self._offset + self._pos)

    def _element(self) -> Any:
        while True:
            try:
                value, end = self._json.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                near_end = error.pos >= len(self._buffer) - _TRUNCATION_SLACK
                if (near_end or error.msg.startswith("Unterminated string")) and self._fill(len(self._buffer)):
                    continue  # the element goes on in the next chunk (reads grow: no quadratic retries)
                raise ArraySyntaxError(f"not valid JSON: {error.msg}", self._offset + error.pos) from None
            if end >= len(self._buffer) and self._fill():
                continue  # a value that ends with the buffer may go on (a number cut in two)
            self._pos = end
            return value
