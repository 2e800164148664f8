"""Which handout files are allowed, told by the name's extension and the content's first bytes.

Office Open XML files are ZIP archives: besides the ZIP signature, their central directory
must name the part the format needs (`word/document.xml` for DOCX), so that an arbitrary
archive renamed to `.docx` is refused. OpenDocument files name their type in the uncompressed
`mimetype` entry at the very start. The legacy Office formats share one container signature
(OLE2), which is as far as a check of the head goes for them.
"""

import io
import re
import struct
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

HEAD_BYTES = 4096
_ZIP = b"PK\x03\x04"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# RFC 5987 attr-char besides letters, digits and "-._~" (which `quote` keeps anyway).
_ATTR_CHARS = "!#$&+^`|"
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()\-]")
_BLOB_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(signatures)


def _is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def _opendocument(mimetype: str) -> Callable[[bytes], bool]:
    """The first ZIP entry is `mimetype`, stored uncompressed, holding the document's type."""

    def matches(head: bytes) -> bool:
        if len(head) < 30 or not head.startswith(_ZIP):
            return False
        name_length, extra_length = struct.unpack("<HH", head[26:30])
        name = head[30 : 30 + name_length]
        start = 30 + name_length + extra_length
        return name == b"mimetype" and head[start : start + len(mimetype)] == mimetype.encode()

    return matches


@dataclass(frozen=True)
class FileKind:
    label: str
    extensions: tuple[str, ...]
    content_type: str
    matches_head: Callable[[bytes], bool]
    # Other content types a browser may declare for the same files.
    aliases: tuple[str, ...] = ()
    # A part an Office Open XML archive of this kind must hold.
    required_part: str | None = None

    def accepts_declared(self, content_type: str) -> bool:
        declared = content_type.split(";", 1)[0].strip().lower()
        return declared == self.content_type or declared in self.aliases


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
KINDS: tuple[FileKind, ...] = (
    FileKind(
        "PDF document", (".pdf",), "application/pdf", _starts(b"%PDF-"), ("application/x-pdf",)
    ),
    FileKind(
        "PowerPoint presentation",
        (".pptx",),
        f"{_OOXML}presentationml.presentation",
        _starts(_ZIP),
        required_part="ppt/presentation.xml",
    ),
    FileKind(
        "Word document",
        (".docx",),
        f"{_OOXML}wordprocessingml.document",
        _starts(_ZIP),
        required_part="word/document.xml",
    ),
    FileKind(
        "Excel workbook",
        (".xlsx",),
        f"{_OOXML}spreadsheetml.sheet",
        _starts(_ZIP),
        required_part="xl/workbook.xml",
    ),
    FileKind(
        "PowerPoint 97-2003 presentation",
        (".ppt",),
        "application/vnd.ms-powerpoint",
        _starts(_OLE2),
    ),
    FileKind("Word 97-2003 document", (".doc",), "application/msword", _starts(_OLE2)),
    FileKind("Excel 97-2003 workbook", (".xls",), "application/vnd.ms-excel", _starts(_OLE2)),
    FileKind(
        "OpenDocument presentation",
        (".odp",),
        f"{_ODF}presentation",
        _opendocument(f"{_ODF}presentation"),
    ),
    FileKind("OpenDocument text", (".odt",), f"{_ODF}text", _opendocument(f"{_ODF}text")),
    FileKind(
        "OpenDocument spreadsheet",
        (".ods",),
        f"{_ODF}spreadsheet",
        _opendocument(f"{_ODF}spreadsheet"),
    ),
    FileKind("PNG image", (".png",), "image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    FileKind(
        "JPEG image",
        (".jpg", ".jpeg"),
        "image/jpeg",
        _starts(b"\xff\xd8\xff"),
        ("image/jpg", "image/pjpeg"),
    ),
    FileKind("GIF image", (".gif",), "image/gif", _starts(b"GIF87a", b"GIF89a")),
    FileKind("WebP image", (".webp",), "image/webp", _is_webp),
)
_BY_EXTENSION = {extension: kind for kind in KINDS for extension in kind.extensions}


def allowed_extensions() -> list[str]:
    return sorted(_BY_EXTENSION)


def extension_of(filename: str) -> str:
    _, dot, suffix = filename.rpartition(".")
    return f".{suffix.lower()}" if dot else ""


def kind_of_name(filename: str) -> FileKind | None:
    return _BY_EXTENSION.get(extension_of(filename))


def holds_part(archive: io.RawIOBase, part: str) -> bool:
    """Whether a ZIP archive's central directory names `part` (nothing is decompressed)."""
    try:
        with zipfile.ZipFile(archive) as opened:
            return part in set(opened.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def clean_filename(filename: str) -> str:
    """The last path segment without control characters, at most 255 characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable()).strip()[:255]


def _ascii(filename: str, unsafe: re.Pattern[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", filename)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unsafe.sub("_", letters)


def blob_file_name(filename: str) -> str:
    """The file's name as the last segment of its blob name: ASCII letters, digits, `._-`."""
    extension = extension_of(filename)
    stem = _ascii(filename[: len(filename) - len(extension)], _BLOB_UNSAFE).strip("._")
    return f"{stem[:100] or 'file'}{extension}"


def content_disposition(filename: str) -> str:
    """`attachment` with the file name (RFC 6266): an ASCII `filename` for old clients and
    `filename*` (RFC 8187, UTF-8) when the name holds anything else."""
    fallback = _ascii(filename, _FALLBACK_UNSAFE)
    header = f'attachment; filename="{fallback}"'
    if fallback != filename:
        header += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return header
