"""A raw export file's one streaming pass: its identity and the UTF-8 text DuckDB reads.

A CSV file is streamed once in Python (in 1 MiB blocks): sha256 of the bytes on disk,
line count, strict decoding in the declared encoding over the whole file (a wrong
encoding is a clear error naming the line, and so is a GB18030 file whose later blocks
are UTF-8; pure-ASCII blocks of a UTF-8 file need no decoding) and, for encodings DuckDB
cannot read (GB18030, GBK, UTF-16) and for a gzip-compressed file, transcoding to a
temporary UTF-8 copy. What the bytes say against the config is named at the first
block: a UTF-16 file declared in another encoding or the other way round, a workbook,
archive or Parquet file declared CSV. Whether a value may need trimming is decided on
the same pass (padding.py). Excel and Parquet files are only hashed.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.errors import InputError
from pipeline.ingest.controls import ControlScan
from pipeline.ingest.padding import PaddingScan

BLOCK = 1 << 20
UTF8_NAMES = {"utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig"}
UTF8_EVIDENCE = 8  # multi-byte characters in a later block before it is called UTF-8


@dataclass(frozen=True)
class Prepared:
    """A file after its one streaming pass: identity, and the UTF-8 text DuckDB reads."""

    sha256: str
    size: int
    lines: int  # physical lines (text formats); 0 for Excel and Parquet
    text_path: Path  # the file itself, or its UTF-8 transcoding
    padded: bool = True  # a value may start or end with a space (padding.py): trim it
    controls: bool = True  # a value may hold a control character (controls.py): check it


def prepare(
    path: Path,
    label: str,
    fmt: str,
    encoding: str,
    workdir: Path,
    separator: str = ",",
    quote: str = '"',
    escape: str = '"',
) -> Prepared:
    """Hash, count lines and check the encoding of `path` in one pass; transcode if needed;
    and whether a value may need trimming or hold a control character (a CSV split on
    `separator`, `quote` and `escape`)."""
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{label}: the file is empty (0 bytes)")
    digest = hashlib.sha256()
    if fmt != "csv":
        with open(path, "rb") as fh:
            while block := fh.read(BLOCK):
                digest.update(block)
        return Prepared(digest.hexdigest(), size, 0, path)
    enc = encoding.lower().replace("_", "-")
    try:
        codec = codecs.lookup(enc).name
    except LookupError:
        raise InputError(f"{label}: unknown encoding {encoding!r} in the source config") from None
    compressed = _compressed(path, label)
    legacy = enc not in UTF8_NAMES
    transcode = legacy or compressed  # DuckDB reads the UTF-8 text
    # UTF-16 and UTF-32 (EBCDIC too) do not write line breaks, separators and spaces as
    # their ASCII bytes: lines and padding are counted on the UTF-8 text instead
    scan_text = not "\n ".encode(codec).endswith(b"\n ")  # (a byte-order mark may lead)
    decoder = codecs.getincrementaldecoder(enc)(errors="strict")
    out_path = workdir / (hashlib.sha256(label.encode()).hexdigest()[:16] + ".utf8.csv")
    out = open(out_path, "w", encoding="utf-8", newline="") if transcode else None
    newlines, last = 0, b""
    padding = PaddingScan(separator, quote)
    controls = ControlScan(separator, quote, escape)
    try:
        with open(path, "rb") as raw:
            fh = _Hashed(raw, digest)
            text_fh = gzip.GzipFile(fileobj=fh, mode="rb") if compressed else fh
            first = True
            while block := _read(text_fh, label):
                if legacy:  # every block: a file may change encoding part way
                    _refuse_utf8_as_legacy(block, label, encoding, newlines, first)
                if first:
                    _refuse_wrong_width(block, label, encoding, codec)
                    fixed = _with_byte_order(codec, block)
                first = False
                # ASCII is valid UTF-8: no decoding needed, unless a multi-byte
                # character is pending from the previous block
                if out is not None or not block.isascii() or decoder.getstate()[0]:
                    try:
                        text = decoder.decode(block, final=False)
                    except UnicodeDecodeError as exc:
                        before = block[: exc.start]
                        if scan_text:  # the lines of the text before the bad bytes
                            before = before.decode(fixed, "replace").encode("utf-8")
                        line = newlines + before.count(b"\n") + 1
                        raise _encoding_error(label, encoding, line, exc) from None
                    if out is not None:
                        out.write(text)
                    if scan_text:
                        block = text.encode("utf-8")
                padding.feed(block)
                breaks = _line_breaks(block)
                controls.feed(block, breaks)
                newlines += breaks
                last = block[-1:] or last
            try:
                tail = decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise _encoding_error(label, encoding, newlines + 1, exc) from None
            if out is not None:
                out.write(tail)
            while fh.read(BLOCK):  # the hash covers every byte, whatever gzip left unread
                pass
    finally:
        if out is not None:
            out.close()
    if not last:  # bytes, but no text in them (a file of 0 bytes was refused above)
        done = "decompressed" if compressed else "decoded"
        raise InputError(f"{label}: the file is empty once {done} (no text)")
    lines = newlines + (0 if last == b"\n" else 1)
    return Prepared(
        digest.hexdigest(),
        size,
        lines,
        out_path if transcode else path,
        padding.finish(),
        controls.finish(),
    )


class _Hashed:
    """A binary file whose bytes go into `digest` as they are read."""

    def __init__(self, fh: Any, digest: Any):
        self.fh, self.digest = fh, digest

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


def _read(fh: Any, label: str) -> bytes:
    """The next block of text bytes; a damaged gzip stream is the file's fault, named."""
    if not isinstance(fh, gzip.GzipFile):
        return fh.read(BLOCK)
    try:
        return fh.read(BLOCK)
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(
            f"{label}: the gzip-compressed file is damaged ({exc}): export it again"
        ) from None


GZIP_MAGIC = b"\x1f\x8b"
NOT_TEXT = [  # (first bytes, last bytes, what the file is and what to do)
    (
        b"PK\x03\x04",
        b"",
        "a ZIP archive (an Excel .xlsx workbook is one): for a workbook set `format: xlsx` "
        "for this table in the source config, else unpack the archive",
    ),
    (b"\xd0\xcf\x11\xe0", b"", "an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV"),
    (b"PAR1", b"PAR1", "a Parquet file: set `format: parquet` for this table in the source config"),
]


def _compressed(path: Path, label: str) -> bool:
    """Whether a file declared CSV is gzip-compressed (then read through); a workbook,
    archive or Parquet file is an error saying what to declare."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        fh.seek(max(0, path.stat().st_size - 4))
        tail = fh.read(4)
    for first, last, advice in NOT_TEXT:
        if head.startswith(first) and tail.endswith(last):
            raise InputError(f"{label}: declared CSV but the file is {advice}")
    return head.startswith(GZIP_MAGIC)


def _line_breaks(block: bytes) -> int:
    """The b"\n" bytes in a block, counted in numpy (a quarter of bytes.count's time)."""
    return int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A))


BYTE_ORDER_MARKS = [  # longest first: UTF-32's little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32", "little"),
    (codecs.BOM_UTF32_BE, "utf-32", "big"),
    (codecs.BOM_UTF16_LE, "utf-16", "little"),
    (codecs.BOM_UTF16_BE, "utf-16", "big"),
]


def _with_byte_order(codec: str, first_block: bytes) -> str:
    """`codec` with its byte order, read off the file's mark (for UTF-16 and UTF-32, whose
    later blocks carry none); other codecs as they are."""
    for mark, name, order in BYTE_ORDER_MARKS:
        if codec == name and first_block.startswith(mark):
            return f"{name}-{'le' if order == 'little' else 'be'}"
    return codec


def _refuse_wrong_width(block: bytes, label: str, encoding: str, codec: str) -> None:
    """A UTF-16 or UTF-32 file declared in a one-byte encoding (an Excel "Unicode text"
    export, a database's wide-character dump), or a one-byte file declared UTF-16/32:
    name the encoding to declare instead of failing on garbled headers."""
    wide = codec.startswith(("utf-16", "utf-32"))
    for mark, name, order in BYTE_ORDER_MARKS:
        if block.startswith(mark):
            if not codec.startswith(name):
                raise InputError(
                    f"{label}: the file starts with a {name.upper()} byte-order mark "
                    f"({order}-endian) but is declared {encoding}; set `encoding: {name}` "
                    "for this table in the source config"
                )
            return
    head = block[:4096]
    zeros = head.count(0)
    if not wide and zeros * 4 >= len(head):  # ASCII text in UTF-16: every other byte
        order = "le" if head[1::2].count(0) > head[0::2].count(0) else "be"
        raise InputError(
            f"{label}: a quarter or more of the file's first bytes are zero, as in UTF-16 "
            f"text without a byte-order mark, but it is declared {encoding}; set "
            f"`encoding: utf-16-{order}` for this table in the source config"
        )
    if wide and zeros == 0 and len(head) > 1:  # separators and line breaks hold a zero
        raise InputError(
            f"{label}: the file is declared {encoding} but holds no zero byte, as UTF-16 and "
            "UTF-32 text with separators and line breaks does; set its real `encoding:` "
            "(perhaps utf-8) for this table in the source config"
        )


def _encoding_error(label: str, encoding: str, line: int, exc: UnicodeDecodeError) -> InputError:
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        return InputError(  # its width was checked at the start: cut or joined text
            f"{label}: line {line}: bytes are not valid {encoding} ({exc.reason}); the file "
            "is damaged (cut or joined in the middle of a character): export it again"
        )
    hint = "gb18030" if encoding.lower().startswith("utf") else "utf-8"
    return InputError(
        f"{label}: line {line}: bytes are not valid {encoding} ({exc.reason}); the file is in "
        f"another encoding: set `encoding:` for this table in the source config (perhaps {hint})"
    )


def _refuse_utf8_as_legacy(
    block: bytes, label: str, encoding: str, lines_before: int, first: bool
) -> None:
    """GB18030 decodes UTF-8 bytes into wrong characters without error: refuse a block
    whose non-ASCII bytes are all valid UTF-8, wherever it is in the file (a later block
    can be UTF-8 when an export was appended to by another system)."""
    if block.isascii():
        return
    start = 0
    if not first:  # a block may begin inside a character that started in the previous one
        while start < min(3, len(block)) and 0x80 <= block[start] <= 0xBF:
            start += 1
        # a few GB18030 characters can be valid UTF-8 by chance; a block of UTF-8 text
        # holds many characters that are (counted by their lead bytes)
        a = np.frombuffer(block, dtype=np.uint8)
        if np.count_nonzero((a >= 0xC2) & (a <= 0xF4)) < UTF8_EVIDENCE:
            return
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(block[start:], final=False)
    except UnicodeDecodeError:
        return
    if first:
        raise InputError(
            f"{label}: the file is declared {encoding} but its bytes are UTF-8; "
            "set `encoding: utf-8` for this table in the source config"
        )
    at = next(i for i, b in enumerate(block) if b >= 0x80)
    line = lines_before + block.count(b"\n", 0, at) + 1
    raise InputError(
        f"{label}: line {line}: the file is declared {encoding} but from here its bytes are "
        "UTF-8 (two encodings in one file); export it again in one encoding"
    )
