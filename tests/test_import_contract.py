"""The import contract of pyproject.toml holds: apps depend one way (wiring -> feature apps -> crm -> core)
and feature apps do not import each other (``make test`` also runs ``lint-imports`` before the suite)."""

from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_is_kept(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert exit_code == 0, capsys.readouterr().out
