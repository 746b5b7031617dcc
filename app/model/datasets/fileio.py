"""Reading files for the importers: OS errors and gzip turned into DatasetError."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from ..files import read_file
from .core import DatasetError

GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        data = read_file(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a folder, expected a file") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read: {e.strerror or e}") from None
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as e:
            raise DatasetError(f"{path}: broken gzip data ({e}); the file may be truncated") from None
    return data


def read_text(path: Path) -> str:
    """UTF-8 text without a BOM; a decoding error names the byte offset."""
    data = read_bytes(path)
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # a BOM, as Excel writes
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = skip + e.start
        raise DatasetError(f"{path}: not UTF-8 text: byte 0x{data[at]:02x} at offset {at} ({e.reason})") from None
