"""Spreadsheets for the import tests, built in memory."""

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

HEADERS = [
    "Nombre y apellido",
    "Razón social",
    "Teléfono",
    "Email",
    "Me interesa el servicio",
    "Fecha",
    "utm_source",
]


def csv_bytes(rows, headers=HEADERS, delimiter=",", encoding="utf-8"):
    lines = [delimiter.join(headers)] + [delimiter.join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows, headers=HEADERS):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(content, name="leads.csv"):
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


ROWS = [
    ["Ana Pérez", "Frío SA", "011 4555-1234", "ana@frio.example", "Almacenamiento", "05/03/2026", "google"],
    ["Beto Díaz", "Pallets SRL", "(0351) 15 512-3456", "BETO@Pallets.Example", "", "2026-03-06", ""],
    ["Carla Gómez", "", "+54 9 11 5555-6666", "carla@sin-arroba", "", "", ""],
    ["Dario Ruiz", '=HYPERLINK("http://x.example")', "15-4444-5555", "dario@ruiz.example", "Otro", "", ""],
]
