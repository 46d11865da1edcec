"""Reading files: encodings, delimiters, XLSX, what is not a spreadsheet; headings to lead fields; dates."""

import datetime

import pytest
from django.utils import timezone

from imports import mapping
from imports.reading import FileProblem, Table
from imports.rows import RowError, parse_date

from .support import HEADERS, ROWS, csv_bytes, xlsx_bytes


def table(tmp_path, content, name="f.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return Table(path)


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("cp1252", "\t"), ("latin-1", "|"), ("cp1252", ";")],
)
def test_encodings_and_delimiters_are_detected(tmp_path, encoding, delimiter):
    rows = [[cell.replace('=HYPERLINK("http://x.example")', "Ruiz SA") for cell in row] for row in ROWS]
    found = table(tmp_path, csv_bytes(rows, delimiter=delimiter, encoding=encoding))
    assert found.headers == HEADERS
    read = [cells for _number, cells in found.rows()]
    assert read[0][0] == "Ana Pérez"
    assert read[1][2] == "(0351) 15 512-3456"
    assert len(read) == 4


def test_mixed_encodings_read_line_by_line(tmp_path):
    content = csv_bytes([ROWS[0]]) + "José Núñez,Ñandú SA,,jose@n.example,,,\r\n".encode("cp1252")
    found = table(tmp_path, content)
    names = [cells[0] for _number, cells in found.rows()]
    assert names == ["Ana Pérez", "José Núñez"]


def test_xlsx_keeps_formulas_as_text_and_numbers_without_decimals(tmp_path):
    rows = [["Eva", "=1+1", 1145551234, "eva@e.example", "", datetime.datetime(2026, 3, 5, 10, 30), ""]]
    found = table(tmp_path, xlsx_bytes(rows), "f.xlsx")
    assert found.kind == "xlsx"
    ((_number, cells),) = list(found.rows())
    assert cells[1] == "=1+1"
    assert cells[2] == "1145551234"
    assert cells[5] == datetime.datetime(2026, 3, 5, 10, 30)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \r\n\r\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "not a spreadsheet"),
        (bytes(range(256)) * 40, "not a spreadsheet"),
        (b"PK\x03\x04garbage that is no zip", "not a readable XLSX"),
    ],
)
def test_what_is_not_a_spreadsheet_is_refused_with_a_reason(tmp_path, content, message):
    with pytest.raises(FileProblem, match=message):
        table(tmp_path, content)


def test_spanish_and_english_headings_map_to_the_declared_lead_fields():
    headers = [*HEADERS, "Company", "E-mail", "Message", "UTM Campaign", "Whatever", "Teléfono"]
    assert mapping.guess(headers) == [
        "contact_name",
        "company",
        "phone",
        "email",
        "service_text",
        "submitted_at",
        "utm_source",
        "",  # company taken by "Razón social"
        "",  # email taken by "Email"
        "message",
        "utm_campaign",
        "",
        "",
    ]


def test_a_saved_mapping_wins_over_the_guess():
    assert mapping.guess(
        ["Nombre y apellido", "Cosa"], {"cosa": "message", "nombre y apellido": "company"}
    ) == [
        "company",
        "message",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05/03/2026", (2026, 3, 5, 0, 0)),
        ("5/3/2026 14:30", (2026, 3, 5, 14, 30)),
        ("2026-03-05", (2026, 3, 5, 0, 0)),
        ("2026-03-05T14:30:10", (2026, 3, 5, 14, 30)),
    ],
)
def test_dates_in_argentine_and_iso_forms(text, expected):
    moment = timezone.localtime(parse_date(text))
    assert (moment.year, moment.month, moment.day, moment.hour, moment.minute) == expected


def test_iso_dates_with_a_zone_keep_it():
    assert parse_date("2026-03-05T14:30:00Z") == datetime.datetime(2026, 3, 5, 14, 30, tzinfo=datetime.UTC)


@pytest.mark.parametrize("text", ["31/02/2026", "March 5", "2026/13/01"])
def test_unreadable_dates_are_row_errors(text):
    with pytest.raises(RowError):
        parse_date(text)
