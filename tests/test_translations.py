"""The Spanish (Argentina) catalogue is complete and compiled: every project string has a translation."""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "es_AR" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCE_DIRS = [
    "intralog",
    "core",
    "crm",
    "home",
    "forms_builder",
    "dashboards",
    "wordpress",
    "alerts",
    "conversations",
    "customers",
    "retention",
    "ops",
    "legacy",
    "imports",
    "privacy",
    "templates",
]


def _key(entry):
    return (entry.msgctxt or "", entry.msgid)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Run makemessages on a copy of the sources, so the committed catalogue is left alone."""
    copy = tmp_path_factory.mktemp("i18n")
    for name in SOURCE_DIRS:
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    (copy / "locale" / "es_AR" / "LC_MESSAGES").mkdir(parents=True)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "es_AR", "--no-wrap", "--no-location"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"DJANGO_SETTINGS_MODULE": "intralog.settings.test", "PATH": "/usr/bin:/bin"},
    )
    return polib.pofile(str(copy / "locale" / "es_AR" / "LC_MESSAGES" / "django.po"))


def test_every_project_string_has_a_spanish_translation(extracted):
    committed = {_key(entry): entry for entry in polib.pofile(str(PO)) if not entry.obsolete}
    missing = []
    for entry in extracted:
        translated = committed.get(_key(entry))
        if translated is None or "fuzzy" in translated.flags or not translated.translated():
            missing.append(entry.msgid)
    assert not missing, (
        f"{len(missing)} strings lack a Spanish translation (run `make messages`): {missing[:20]}"
    )


def test_compiled_catalogue_matches_the_source():
    source = {
        _key(entry): entry.msgstr or entry.msgstr_plural
        for entry in polib.pofile(str(PO))
        if entry.translated()
    }
    compiled = {_key(entry): entry.msgstr or entry.msgstr_plural for entry in polib.mofile(str(MO))}
    compiled.pop(("", ""), None)
    assert source == compiled, "locale/es_AR/LC_MESSAGES/django.mo is stale: run `make messages`"
