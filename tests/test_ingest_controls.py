"""controls.ControlScan on hand-made bytes: which files may hold a control character in
a value (and so have their ids and codes searched for one at ingest)."""

from __future__ import annotations

import pytest

from pipeline.ingest.controls import ControlScan
from pipeline.ingest.readers import mixed_line_ending


def scan(blocks: list[bytes], separator: str = ",", quote: str = '"', escape: str = '"') -> bool:
    s = ControlScan(separator, quote, escape)
    for block in blocks:
        s.feed(block)
    return s.finish()


def test_plain_rows_and_their_line_breaks_hold_none():
    assert not scan([b"a,b\r\n1,2\r\n", b'3,"x,y"\n4,"say ""hi"""\n'])


@pytest.mark.parametrize("byte", [b"\x00", b"\x07", b"\t", b"\x1b", b"\x7f"])
def test_a_control_byte_anywhere_is_found(byte: bytes):
    assert scan([b"a,b\n1,2" + byte + b"\n"])


def test_tabs_that_separate_are_not_values():
    assert not scan([b"a\tb\n1\t2\n"], separator="\t")
    assert scan([b"a\tb\n1\t2\x01\n"], separator="\t")


def test_a_line_break_inside_quotes_is_found_across_blocks():
    # the quote opens in one block; the line break inside it comes in the next
    assert scan([b'a,b\n1,"open', b' still\nclosed"\n'])
    assert scan([b'a,b\n1,"x\rz"\n'])
    # a doubled quote keeps the count even: the line break after it is outside
    assert not scan([b'a,b\n1,"x""', b'y"\n2,3\n'])


def test_a_dialect_the_scan_cannot_follow_is_always_checked():
    assert scan([b"a,b\n1,2\n"], escape="\\")
    assert scan([b"a||b\n1||2\n"], separator="||")


def test_the_first_line_ending_unlike_the_first_lines_is_found(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n3,4\n5,6\r\n")
    assert mixed_line_ending(path) == (3, "LF (Unix)", "CRLF (Windows)")
    path.write_bytes(b"a,b\n1,2\r3,4\n")
    assert mixed_line_ending(path) == (2, "a bare CR", "LF (Unix)")
    path.write_bytes(b"a,b\n1,2\n")
    assert mixed_line_ending(path) is None
