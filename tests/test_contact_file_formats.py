"""A spreadsheet or archive given to `kithkin contacts import` (an .xlsx renamed .csv, the
commonest mistake) is named in one line, by its first bytes, and nothing is imported."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from kithkin.parsers.contacts import Problem, read_contact_file, unsupported_format

DATA = Path(__file__).parent / "data" / "contacts"
ROW = b"Name,E-mail Address\r\nAda Lovelace,ada@example.org\r\n"  # what the sheet holds


def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            stored = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=stored)
    return buffer.getvalue()


def xlsx() -> bytes:
    """The parts of a SpreadsheetML package, in the order Excel writes them."""
    return zipped({
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
                               b'.org/package/2006/content-types"/>',
        "_rels/.rels": b'<?xml version="1.0"?><Relationships/>',
        "xl/workbook.xml": b'<?xml version="1.0"?><workbook><sheets><sheet name="Contacts" '
                           b'sheetId="1"/></sheets></workbook>',
        "xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + ROW + b"</sheetData></worksheet>",
    })  # fmt: skip


def ods() -> bytes:
    return zipped({
        "mimetype": b"application/vnd.oasis.opendocument.spreadsheet",
        "content.xml": b"<office:document-content>" + ROW + b"</office:document-content>",
    })  # fmt: skip


def ole2(stream: str) -> bytes:
    """An OLE2 compound file's header and one directory entry (names are UTF-16)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    entry = (stream + "\0").encode("utf-16-le").ljust(64, b"\0") + bytes(64)
    return header + entry + ROW


FILES = {
    "xlsx": (xlsx(), "this is an Excel workbook (.xlsx), not CSV or vCard; save it as CSV"),
    "xls": (ole2("Workbook"), "this is an Excel workbook (.xls), not CSV or vCard; save it as CSV"),
    "xls (Excel 5)": (ole2("Book"), "this is an Excel workbook (.xls)"),
    "doc": (ole2("WordDocument"), "this is a Microsoft Office file, not CSV or vCard; save it"),
    "ods": (ods(), "this is an OpenDocument spreadsheet (.ods), not CSV or vCard; save it as CSV"),
    "zip": (zipped({"contacts.vcf": b"BEGIN:VCARD"}),
            "this is a zip archive, not CSV or vCard; unpack it and import the .vcf or .csv"),
    "empty zip": (zipped({}), "this is a zip archive"),
    "damaged xlsx": (xlsx()[:300], "this is an Excel workbook (.xlsx)"),
}  # fmt: skip


@pytest.mark.parametrize(("data", "message"), FILES.values(), ids=FILES.keys())
def test_a_spreadsheet_renamed_csv_is_one_line_and_imports_nothing(
    run_cli, tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_bytes(data)
    result = run_cli("contacts", "import", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"kithkin: error: {path}: {message}"), line
    listed = run_cli("contacts", "list", "--json")
    assert json.loads(listed.stdout) == []


@pytest.mark.parametrize(("data", "message"), FILES.values(), ids=FILES.keys())
def test_read_contact_file_gives_the_same_one_problem(data: bytes, message: str) -> None:
    records, problems = read_contact_file(data)
    assert records == []
    assert [problem.line for problem in problems] == [1]
    assert problems[0].message.startswith(message)
    assert isinstance(problems[0], Problem)


@pytest.mark.parametrize("sample", sorted(DATA.iterdir()), ids=lambda path: path.name)
def test_contact_files_are_not_mistaken_for_spreadsheets(sample: Path) -> None:
    data = sample.read_bytes()
    assert unsupported_format(data) is None
    for encoded in (data.decode("utf-8").encode("utf-16"), b"\xef\xbb\xbf" + data):
        assert unsupported_format(encoded) is None


def test_a_csv_that_merely_starts_with_pk_is_read_as_csv() -> None:
    data = b"PK Name,Email\r\nAda,ada@example.org\r\n"
    assert unsupported_format(data) is None
    assert read_contact_file(data)[0][0].emails == ("ada@example.org",)
