"""Spreadsheets and archives given as a contact file (an .xlsx renamed .csv, say): named by
their first bytes, so the owner is told what to do instead of reading a page of noise.

A zip archive starts with "PK\\x03\\x04" (or "PK\\x05\\x06" when empty): an Excel workbook
(.xlsx) holds `xl/` entries, an OpenDocument spreadsheet (.ods) names its type in the
`mimetype` entry. The old binary Office formats (.xls, .doc) are OLE2 compound files,
starting with D0 CF 11 E0 A1 B1 1A E1; a workbook holds a stream named "Workbook" (or "Book"
before Excel 97), its directory names in UTF-16.
"""

from __future__ import annotations

import io
import zipfile

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_WORKBOOK = ("Workbook".encode("utf-16-le"), "Book\0".encode("utf-16-le"))
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
_SAVE_AS_CSV = "save it as CSV (File > Save As > CSV UTF-8) and import that file"


def unsupported_format(data: bytes) -> str | None:
    """What `data` is, with what to do, if it is a spreadsheet or archive; else None."""
    if data.startswith(_OLE2):
        if any(name in data for name in _OLE2_WORKBOOK):
            return f"this is an Excel workbook (.xls), not CSV or vCard; {_SAVE_AS_CSV}"
        return f"this is a Microsoft Office file, not CSV or vCard; {_SAVE_AS_CSV}"
    if not data.startswith(_ZIP):
        return None
    names = _zip_names(data)
    if any(name.startswith("xl/") for name in names) or (not names and b"xl/" in data):
        return f"this is an Excel workbook (.xlsx), not CSV or vCard; {_SAVE_AS_CSV}"
    if _ODS in data[:200]:  # the `mimetype` entry comes first, stored uncompressed
        return f"this is an OpenDocument spreadsheet (.ods), not CSV or vCard; {_SAVE_AS_CSV}"
    return "this is a zip archive, not CSV or vCard; unpack it and import the .vcf or .csv inside"


def _zip_names(data: bytes) -> list[str]:
    """The entry names of a zip archive; none if its directory cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.namelist()
    except Exception:  # noqa: BLE001 - a damaged or hostile archive is still an archive
        return []
