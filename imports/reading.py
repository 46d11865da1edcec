"""Reading an uploaded spreadsheet: CSV in any common encoding and delimiter, or XLSX, row by row.

Nothing is read whole into memory: a CSV is decoded line by line (a line that is not valid in the file's
encoding is read in the next candidate, so files pasted together from several sources still read), an
XLSX sheet is streamed by openpyxl's read-only mode. Formulas are kept as the text they are written as.
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

ENCODINGS = ("utf-8", "cp1252", "latin-1")
DELIMITERS = ",;\t|"
_SAMPLE_BYTES = 64 * 1024
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf", b"MZ")
_XLSX_MAGIC = b"PK\x03\x04"
Cell = str | datetime.datetime | datetime.date


class FileProblem(Exception):
    """The file cannot be read as a spreadsheet; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class TextFormat:
    encoding: str
    delimiter: str


def kind_of(path: Path) -> str:
    """``"xlsx"`` or ``"csv"`` from the file's first bytes; ``FileProblem`` for anything else."""
    with path.open("rb") as file:
        head = file.read(_SAMPLE_BYTES)
    if not head.strip():
        raise FileProblem(_("The file is empty."))
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(_BINARY_MAGIC) or _looks_binary(head):
        raise FileProblem(_("This is not a spreadsheet: save it as CSV or XLSX and upload it again."))
    return "csv"


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 13))
    return control > len(head) // 100


def text_format(path: Path) -> TextFormat:
    """The encoding (``utf-8-sig``, ``utf-8``, ``cp1252`` or ``latin-1``) and delimiter of a CSV file."""
    with path.open("rb") as file:
        sample = file.read(_SAMPLE_BYTES)
    if sample.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        cut = sample[: sample.rfind(b"\n") + 1] or sample
        encoding = next(name for name in ENCODINGS if _decodes(cut, name))
    text = sample.decode(encoding if encoding != "utf-8" else "utf-8", errors="replace")
    return TextFormat(encoding, _delimiter(text))


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = lines[0]
        counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
        best = max(counts, key=lambda delimiter: counts[delimiter])
        return best if counts[best] else ","


def _decoded_lines(file: IO[bytes], encoding: str) -> Iterator[str]:
    """Each line in UTF-8 when it is valid UTF-8 (text in a single-byte encoding almost never is), else in
    the file's own encoding, else in cp1252 or latin-1."""
    fallbacks = tuple(
        dict.fromkeys(name for name in (encoding.removesuffix("-sig"), *ENCODINGS) if name != "utf-8")
    )
    first = True
    for raw in file:
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        yield _decode(raw, fallbacks)


def _decode(raw: bytes, fallbacks: tuple[str, ...]) -> str:
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for encoding in fallbacks:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")  # pragma: no cover - latin-1 decodes every byte


def _blank(row: list[Any]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row)


def _cell(value: Any) -> Cell:
    """An XLSX cell as text, or a date: whole numbers lose their ``.0`` (phone numbers typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime.time):
        return value.isoformat()
    return str(value)


class Table:
    """A spreadsheet's heading row and its other rows, read again from the file whenever asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kind = kind_of(path)
        self.format = text_format(path) if self.kind == "csv" else None
        rows = self._all_rows()
        try:
            header = next(rows)
        except StopIteration:
            raise FileProblem(_("The file is empty.")) from None
        finally:
            rows.close()
        self.headers = [str(cell).strip() for cell in header]
        while self.headers and not self.headers[-1]:
            self.headers.pop()
        if not self.headers:
            raise FileProblem(_("The first row has no column names."))

    def _all_rows(self) -> Generator[list[Cell], None, None]:
        """Every row that is not blank, the heading first."""
        if self.kind == "xlsx":
            yield from self._xlsx_rows()
            return
        assert self.format is not None
        with self.path.open("rb") as file:
            reader = csv.reader(_decoded_lines(file, self.format.encoding), delimiter=self.format.delimiter)
            try:
                for row in reader:
                    if not _blank(row):
                        yield list(row)
            except csv.Error as error:
                raise FileProblem(
                    _("The file is not a readable CSV file (%(error)s).") % {"error": error}
                ) from None

    def _xlsx_rows(self) -> Generator[list[Cell], None, None]:
        from openpyxl import load_workbook

        with self.path.open("rb") as file:
            try:
                workbook = load_workbook(file, read_only=True, data_only=False)
                sheet = workbook.worksheets[0]
            except (zipfile.BadZipFile, KeyError, OSError, ValueError, IndexError):
                raise FileProblem(
                    _("This is not a readable XLSX file: save it again as XLSX or CSV.")
                ) from None
            try:
                for row in sheet.iter_rows(values_only=True):
                    if not _blank(list(row)):
                        yield [_cell(value) for value in row]
            finally:
                workbook.close()

    def rows(self, skip: int = 0) -> Iterator[tuple[int, list[Cell]]]:
        """``(number, cells)`` of each row after the heading (numbered from 1), from row ``skip + 1``."""
        rows = self._all_rows()
        try:
            next(rows)
            for number, row in enumerate(rows, start=1):
                if number > skip:
                    yield number, row
        finally:
            rows.close()

    def count(self) -> int:
        return sum(1 for _row in self.rows())
