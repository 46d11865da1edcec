"""Names kept in both languages show in the reader's."""

from django.utils import translation

from crm.languages import localised


def test_the_spanish_name_for_a_spanish_reader_else_the_english_one():
    with translation.override("es-ar"):
        assert localised("Won", "Ganado") == "Ganado"
        assert localised("Won", "") == "Won"
    with translation.override("en"):
        assert localised("Won", "Ganado") == "Won"
