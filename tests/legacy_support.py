"""The old Leads Manager's database, built from its models (shared/reference/original-app.md) as Django 5.0
creates them on SQLite, and filled with rows as the old app wrote them (naive UTC times, JSON text)."""

import json
import sqlite3
from datetime import datetime
from pathlib import Path

OLD_SCHEMA = """
CREATE TABLE "usersapp_customuser" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "password" varchar(128) NOT NULL,
    "last_login" datetime NULL, "is_superuser" bool NOT NULL, "username" varchar(150) NOT NULL UNIQUE,
    "first_name" varchar(150) NOT NULL, "last_name" varchar(150) NOT NULL, "email" varchar(254) NOT NULL,
    "is_staff" bool NOT NULL, "is_active" bool NOT NULL, "date_joined" datetime NOT NULL,
    "phone_number" varchar(15) NULL, "role" varchar(10) NOT NULL
);
CREATE TABLE "formsapp_campaign" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(255) NOT NULL,
    "start_date" date NOT NULL, "end_date" date NULL, "description" text NULL
);
CREATE TABLE "formsapp_formsubmission" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "empresa" varchar(255) NOT NULL,
    "fecha_creacion" datetime NOT NULL, "razon_social" varchar(255) NULL,
    "nombre_y_apellido" varchar(255) NULL, "servicio" varchar(255) NULL, "mail" varchar(254) NULL,
    "telefono" varchar(20) NULL, "origen" varchar(255) NOT NULL, "sub_origen" varchar(255) NOT NULL,
    "mensaje" text NULL, "avance" varchar(50) NOT NULL, "estado" varchar(50) NOT NULL,
    "form_id" integer NOT NULL, "submission_id" integer NOT NULL UNIQUE,
    "data" text NOT NULL CHECK ((JSON_VALID("data") OR "data" IS NULL)),
    "assigned_user_id" bigint NULL REFERENCES "usersapp_customuser" ("id") DEFERRABLE INITIALLY DEFERRED,
    "management_message" text NULL,
    "campaign_id" bigint NULL REFERENCES "formsapp_campaign" ("id") DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX "formsapp_formsubmission_assigned_user_id_5d5f3d4e" ON "formsapp_formsubmission" ("assigned_user_id");
CREATE INDEX "formsapp_formsubmission_campaign_id_2b1c6f0a" ON "formsapp_formsubmission" ("campaign_id");
CREATE TABLE "formsapp_leadhistory" (
    "id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "previous_status" varchar(50) NULL,
    "new_status" varchar(50) NOT NULL, "timestamp" datetime NOT NULL,
    "form_submission_id" bigint NOT NULL REFERENCES "formsapp_formsubmission" ("id") DEFERRABLE INITIALLY DEFERRED,
    "updated_by_id" bigint NULL REFERENCES "usersapp_customuser" ("id") DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX "formsapp_leadhistory_form_submission_id_8c1a2f55" ON "formsapp_leadhistory" ("form_submission_id");
CREATE INDEX "formsapp_leadhistory_updated_by_id_3e0f4b21" ON "formsapp_leadhistory" ("updated_by_id");
"""

SUBMISSION_FIELDS = (
    "id",
    "empresa",
    "fecha_creacion",
    "razon_social",
    "nombre_y_apellido",
    "servicio",
    "mail",
    "telefono",
    "origen",
    "sub_origen",
    "mensaje",
    "avance",
    "estado",
    "form_id",
    "submission_id",
    "data",
    "assigned_user_id",
    "management_message",
    "campaign_id",
)


def stamp(value: datetime) -> str:
    """A time as Django 5.0 stores it on SQLite with ``USE_TZ`` (naive UTC text)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


class OldApp:
    """An SQLite file with the old app's schema and helpers to write rows as the old app did."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = sqlite3.connect(path)
        self.connection.executescript(OLD_SCHEMA)

    def user(self, id: int, username: str, email: str = "", role: str = "employee") -> None:
        self.connection.execute(
            "INSERT INTO usersapp_customuser VALUES (?, '!', NULL, 0, ?, '', '', ?, 0, 1, ?, NULL, ?)",
            (id, username, email, "2024-01-01 00:00:00", role),
        )

    def campaign(self, id: int, name: str) -> None:
        self.connection.execute(
            "INSERT INTO formsapp_campaign VALUES (?, ?, '2025-01-01', NULL, '')", (id, name)
        )

    def submission(self, id: int, created: datetime, **values: object) -> None:
        row = {
            "id": id,
            "empresa": "INTRALOG",
            "fecha_creacion": stamp(created),
            "razon_social": None,
            "nombre_y_apellido": None,
            "servicio": None,
            "mail": None,
            "telefono": None,
            "origen": "Web",
            "sub_origen": "Formulario",
            "mensaje": None,
            "avance": "",
            "estado": "pendiente",
            "form_id": 3,
            "submission_id": 1000 + id,
            "data": {},
            "assigned_user_id": None,
            "management_message": None,
            "campaign_id": None,
        }
        row.update(values)
        row["data"] = json.dumps(row["data"], ensure_ascii=False)
        marks = ", ".join("?" * len(SUBMISSION_FIELDS))
        self.connection.execute(
            f"INSERT INTO formsapp_formsubmission ({', '.join(SUBMISSION_FIELDS)}) VALUES ({marks})",  # noqa: S608
            [row[name] for name in SUBMISSION_FIELDS],
        )

    def history(
        self, submission: int, previous: str | None, new: str, at: datetime, by: int | None = None
    ) -> None:
        self.connection.execute(
            "INSERT INTO formsapp_leadhistory (previous_status, new_status, timestamp, form_submission_id, "
            "updated_by_id) VALUES (?, ?, ?, ?, ?)",
            (previous, new, stamp(at), submission, by),
        )

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> None:
        self.connection.execute(sql, params)

    def save(self) -> str:
        self.connection.commit()
        return str(self.path)
