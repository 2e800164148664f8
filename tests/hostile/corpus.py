"""A short corpus of hostile inputs, by kind, for every route that takes that kind of input.

Values are kept as the JSON text that goes into a body (`raw`), so that what a client's
own serializer cannot send (lone surrogates, NaN, 400-digit numbers) is sent all the same,
and as the text that goes into a query or path. Files are built when a test asks for them:
nothing large is kept in the repository.
"""

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Hostile:
    """One hostile value: how it goes into a JSON body and into a URL, and whether every
    field of its kind must refuse it (False: a field may also take it as it is)."""

    name: str
    raw: str
    query: str
    refused: bool


def _text(name: str, escaped: str, query: str, *, refused: bool) -> Hostile:
    return Hostile(name=name, raw=f'"{escaped}"', query=query, refused=refused)


# Invalid Unicode and control characters: refused by every text field (decision 0030).
# In a URL the surrogate goes as its (invalid) UTF-8 bytes, as a raw request would carry it.
TEXT = [
    _text("lone-high-surrogate", r"a\ud800b", "a%ED%A0%80b", refused=True),
    _text("lone-low-surrogate", r"\udfff", "%ED%BF%BF", refused=True),
    _text("nul", r"nul\u0000", "nul%00", refused=True),
    _text("bell", r"ring\u0007", "ring%07", refused=True),
    _text("escape-sequence", r"\u001b[2J\u001b[31mred", "%1B%5B2J", refused=True),
    _text("c1-next-line", r"a\u0085b", "a%C2%85b", refused=True),
    _text("noncharacter", r"a\uffffb", "a%EF%BF%BFb", refused=True),
    _text("invalid-utf8", "", "a%FF%FEb", refused=True),
    # Legal text that fools readers: a field may take it, and must keep it as it is.
    _text("bidi-override", r"\u202egnp.exe", "%E2%80%AEgnp.exe", refused=False),
    _text("zero-width", r"ad\u200bmin\ufeff", "ad%E2%80%8Bmin%EF%BB%BF", refused=False),
    _text("combining-pile", "e" + r"\u0301" * 200, "e" + "%CC%81" * 200, refused=False),
    _text("long", "x" * 100_000, "x" * 8_000, refused=False),
]
# Invalid UTF-8 has no JSON escape: it only goes into URLs (and raw file bodies).
BODY_TEXT = [value for value in TEXT if value.raw != '""']

_FOUR_HUNDRED_DIGITS = "1" + "0" * 400


def _number(name: str, token: str, *, refused: bool) -> Hostile:
    return Hostile(name=name, raw=token, query=token, refused=refused)


# Numbers beyond every range a field has. NaN and Infinity are no JSON at all, 1e309 reads
# as infinity; the others may be taken where a field has no bound (and must then be read back).
NUMBERS = [
    _number("nan", "NaN", refused=True),
    _number("infinity", "Infinity", refused=True),
    _number("minus-infinity", "-Infinity", refused=True),
    _number("overflowing-float", "1e309", refused=True),
    _number("largest-float", "1e308", refused=False),
    _number("minus-zero", "-0", refused=False),
    _number("four-hundred-digits", _FOUR_HUNDRED_DIGITS, refused=False),
    _number("past-int64", "9223372036854775808", refused=False),
    _number("below-int64", "-9223372036854775809", refused=False),
    _number("underflowing-float", "1e-400", refused=False),
]


def _date(name: str, value: str, *, refused: bool) -> Hostile:
    return Hostile(name=name, raw=f'"{value}"', query=value, refused=refused)


# The ends of the calendar and past them. A far end may be taken (clamped or stored as it
# is); what no calendar has is refused.
DATES = [
    _date("year-one", "0001-01-01T00:00:00Z", refused=False),
    _date("year-9999", "9999-12-31T23:59:59Z", refused=False),
    _date("year-9999-date", "9999-12-31", refused=False),
    _date("year-zero", "0000-01-01T00:00:00Z", refused=True),
    _date("year-ten-thousand", "10000-01-01T00:00:00Z", refused=True),
    _date("negative-year", "-0001-01-01T00:00:00Z", refused=True),
    _date("month-thirteen", "2026-13-01T00:00:00Z", refused=True),
    _date("not-a-date", "null", refused=True),
]
# Ten thousand years, and periods that end before they start.
TEN_THOUSAND_YEARS = {"since": "0001-01-01", "until": "9999-12-31"}
REVERSED = {"since": "9999-12-31", "until": "0001-01-01"}


def deep_arrays(depth: int = 10_000) -> str:
    return "[" * depth + "]" * depth


def deep_objects(depth: int = 10_000) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def huge_body(size: int) -> str:
    """A JSON object of `size` characters and more."""
    return '{"padding": "' + "x" * size + '"}'


# Patterns a tenant may write that backtrack in engines that backtrack, the answers that
# make them do so, and what RE2 does not have at all (refused when the form is saved).
BACKTRACKING_PATTERNS = {
    "nested-plus": r"(a+)+$",
    "alternation": r"(a|aa)+$",
    "overlapping": r"(x+x+)+y",
    "words": r"(\w+\s?)*$",
    "email-like": r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}"
    r"(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
}
BACKTRACKING_ANSWERS = ["a" * 5_000 + "!", "x" * 5_000, "word " * 1_000 + "!"]
PATTERNS_RE2_REFUSES = {
    "backreference": r"(a*)\1b",
    "lookahead": r"(?=a+)+a",
    "huge-program": r"(a{1000}){1000}",
}


# ---- files ------------------------------------------------------------------------------


def xlsx_bomb(gibibytes: int = 4) -> bytes:
    """An .xlsx of a few hundred KiB that unpacks to `gibibytes` GiB of sheet XML: one
    64 MiB run of zeros, deflated once and written as many members."""
    chunk = 64 * 1024 * 1024
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(b"\0" * chunk) + compressor.flush()
    crc = zlib.crc32(b"\0" * chunk)
    members = [("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"<workbook/>")]
    out = io.BytesIO()
    directory = []
    for name, data in members:
        packed = zlib.compressobj(9, zlib.DEFLATED, -15)
        small = packed.compress(data) + packed.flush()
        directory.append(_write_member(out, name, small, zlib.crc32(data), len(data)))
    for number in range(gibibytes * 1024 * 1024 * 1024 // chunk):
        name = f"xl/worksheets/sheet{number + 1}.xml"
        directory.append(_write_member(out, name, deflated, crc, chunk))
    start = out.tell()
    for record in directory:
        out.write(record)
    size = out.tell() - start
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(directory), len(directory), size, start, 0)
    )
    return out.getvalue()


def _write_member(out: io.BytesIO, name: str, deflated: bytes, crc: int, size: int) -> bytes:
    """Writes a deflated member's local header and data; returns its central record."""
    encoded = name.encode()
    offset = out.tell()
    fields = (20, 0, 8, 0, 0, crc, len(deflated), size, len(encoded))
    out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, 0) + encoded + deflated)
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset)
    return central + encoded


def nested_zip_xlsx(levels: int = 3) -> bytes:
    """A workbook whose sheet is a zip holding a zip... holding a run of zeros."""
    inner = b"\0" * (8 * 1024 * 1024)
    for level in range(levels):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"level{level}.zip" if level else "zeros.bin", inner)
        inner = buffer.getvalue()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", inner)
    return buffer.getvalue()


def hls_playlist(target: str) -> bytes:
    """An HLS playlist (to be named .mp4) whose one segment is `target`."""
    return (
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXTINF:2.0,\n{target}\n#EXT-X-ENDLIST\n"
    ).encode()


def ffconcat_list(target: str) -> bytes:
    """An ffmpeg concat list (to be named .mp4) that reads `target`."""
    return f"ffconcat version 1.0\nfile '{target}'\n".encode()


def text_as_video() -> bytes:
    return b"Agenda: welcome, keynote, questions.\n" * 40


def disguised_videos(local_file: Path, url: str) -> dict[str, bytes]:
    """Files named .mp4 that are no video: playlists and lists reaching for a local file of
    the worker or for a URL, and plain text."""
    return {
        "hls-local-file": hls_playlist(f"file://{local_file}"),
        "hls-url": hls_playlist(url),
        "ffconcat-local-file": ffconcat_list(str(local_file)),
        "ffconcat-url": ffconcat_list(url),
        "text": text_as_video(),
    }
