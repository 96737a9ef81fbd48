"""Text files in any of the encodings a prompt log arrives in: recognising the encoding (a byte
order mark, or where the NUL bytes are), reading lines with invalid bytes replaced and counted,
and writing a UTF-8 copy the polars readers can open."""

from __future__ import annotations

import codecs
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from insight_core.prep.staged import StagedSource

log = logging.getLogger(__name__)

# Examples of repaired lines named in the run's warning (the counter is exact).
_EXAMPLES = 5
# Byte order marks, UTF-32 first: the UTF-32-LE mark begins with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Bytes read to recognise a file's encoding, and read at once while decoding a wide one.
SNIFF_BYTES = 4096
_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class TextEncoding:
    """How a text file's bytes are decoded: a Python codec, after ``bom`` bytes of mark."""

    codec: str = "utf-8"
    bom: int = 0
    guessed: bool = False  # no mark: recognised from where the NUL bytes are

    @property
    def label(self) -> str:
        """E.g. "UTF-16-LE (byte order mark)", for messages."""
        how = "byte order mark" if self.bom else "guessed, no byte order mark"
        if not self.bom and not self.guessed:
            how = "no byte order mark"
        return f"{self.codec.upper()} ({how})"

    @property
    def needs_decoding(self) -> bool:
        """Whether the polars readers (UTF-8 only, no mark) need a decoded copy."""
        return self.codec != "utf-8" or self.bom > 0


def _zero_shares(head: bytes, width: int) -> list[float]:
    """Share of NUL bytes at each position modulo ``width`` of ``head``."""
    usable = len(head) - len(head) % width
    units = usable // width
    return [head[i:usable:width].count(0) / units for i in range(width)]


def detect_encoding(head: bytes) -> TextEncoding:
    """The encoding of a text file that begins with ``head`` (its first few KB).

    A byte order mark decides. Without one, mostly-ASCII UTF-16/UTF-32 text has NUL bytes in
    fixed places (``a`` is ``61 00`` in UTF-16-LE) and UTF-8 text has none, so a lopsided share
    of NULs is taken for UTF-16/32; anything else is read as UTF-8.
    """
    for mark, codec in _BOMS:
        if head.startswith(mark):
            return TextEncoding(codec, len(mark))
    if len(head) >= 8:
        z = _zero_shares(head, 4)
        if z[3] > 0.99 and z[2] > 0.9 and z[0] < 0.1:
            return TextEncoding("utf-32-le", guessed=True)
        if z[0] > 0.99 and z[1] > 0.9 and z[3] < 0.1:
            return TextEncoding("utf-32-be", guessed=True)
        even, odd = _zero_shares(head, 2)
        if odd > 0.3 and even < 0.05:
            return TextEncoding("utf-16-le", guessed=True)
        if even > 0.3 and odd < 0.05:
            return TextEncoding("utf-16-be", guessed=True)
    return TextEncoding()


def _wide_lines(handle: BinaryIO, codec: str) -> Iterator[bytes]:
    """Binary lines of a UTF-16/UTF-32 file, split at newline code units only.

    ``0A 00`` is a newline in UTF-16-LE only where it starts a code unit: elsewhere it is the
    end of one character and the start of another, so matches off the unit grid are skipped.
    """
    newline = "\n".encode(codec)
    unit = len(newline)
    pending = b""
    while block := handle.read(_BLOCK_BYTES):
        pending += block
        start = search = 0
        while (at := pending.find(newline, search)) != -1:
            if (at - start) % unit:
                search = at + 1
                continue
            yield pending[start : at + unit]
            start = search = at + unit
        pending = pending[start:]
    if pending:
        yield pending


class LineReader:
    """Lines of a file decoded with its encoding, invalid bytes replaced and counted."""

    def __init__(
        self,
        handle: BinaryIO,
        name: str,
        staged: StagedSource,
        encoding: TextEncoding | None = None,
    ) -> None:
        self.handle = handle
        self.name = name
        self.staged = staged
        self.encoding = encoding or TextEncoding()
        self.line = 0  # number of the last line handed out
        # This file's share of the counts: what a message about an unreadable file names.
        self.lines_replaced = 0
        self.lines_with_nul = 0

    def _raw_lines(self) -> Iterator[bytes]:
        if self.encoding.codec == "utf-8":
            yield from self.handle  # a UTF-8 mark is removed after decoding
        else:
            self.handle.read(self.encoding.bom)
            yield from _wide_lines(self.handle, self.encoding.codec)

    def __iter__(self) -> Iterator[str]:
        codec = self.encoding.codec
        for raw in self._raw_lines():
            self.line += 1
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                text = raw.decode(codec, errors="replace")
                self.lines_replaced += 1
                self.staged.lines_bytes_replaced += 1
                if self.staged.lines_bytes_replaced <= _EXAMPLES:
                    log.warning(
                        "%s line %d: invalid %s bytes replaced", self.name, self.line, codec
                    )
            if self.line == 1:
                text = text.removeprefix("\ufeff")
            if "\x00" in text:
                self.lines_with_nul += 1
            yield text


def decoded_copy(
    file: Path, encoding: TextEncoding, target: Path, staged: StagedSource
) -> LineReader:
    """Write ``file`` as UTF-8 without a mark to ``target``, line for line (line numbers hold).

    Streams a line at a time, so memory stays flat. Returns the reader for its counts.
    """
    with file.open("rb") as handle, target.open("w", encoding="utf-8", newline="") as out:
        reader = LineReader(handle, str(file), staged, encoding)
        for text in reader:
            out.write(text)
    return reader
