"""Normalisation of what real submissions contain (reference: wordpress-sources.md)."""

import pytest

from crm.normalise import (
    clean_text,
    clean_value,
    extract_utm,
    fold,
    is_junk,
    normalise_email,
    phone_to_e164,
    utm_from_url,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("+54 9 11 5555-1234", "+5491155551234"),
        ("+5491155551234", "+5491155551234"),
        ("54 11 5555 1234", "+541155551234"),
        ("011 4555-1234", "+541145551234"),
        ("(011) 4444-5555", "+541144445555"),
        ("011 15-5555-1234", "+5491155551234"),
        ("(0351) 15 497-4776", "+5493514974776"),
        ("0351 4974776", "+543514974776"),
        ("341 514 9027", "+543415149027"),
        ("15-5555-1234", "+5491155551234"),
        ("15 5555 1234", "+5491155551234"),
        ("\u200b+54 9 11\u00a05555\t1234 ", "+5491155551234"),
    ],
)
def test_argentine_phone_formats_become_e164(given, expected):
    assert phone_to_e164(given) == expected


@pytest.mark.parametrize("given", ["123", "no tengo", "1,5E+10", "1.5e10", "", None, "-", "asdf", "+54 9"])
def test_impossible_phones_give_empty(given):
    assert phone_to_e164(given) == ""


def test_phone_region_parameter_is_kept():
    assert phone_to_e164("(202) 555-0143", region="US") == "+12025550143"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Raul.Sosa@GMAIL.com ", ("raul.sosa@gmail.com", True)),
        ("RAUL_1984@gmail.com", ("raul_1984@gmail.com", True)),
        ("raul @ gmail.com", ("raul@gmail.com", True)),
        ("mailto:Ana@Example.COM", ("ana@example.com", True)),
        ("x@gmail", ("x@gmail", False)),
        ("@@", ("@@", False)),
        ("juan@gmail.con", ("juan@gmail.con", False)),
        ("Juan@Hotmail.CON", ("Juan@Hotmail.CON", False)),
        ("no tengo", ("no tengo", False)),
        ("N/A", ("", True)),
        ("", ("", True)),
    ],
)
def test_email_lower_cased_or_kept_raw_and_flagged(given, expected):
    assert normalise_email(given) == expected


def test_unicode_nfc_zero_width_and_whitespace():
    decomposed = "Rau\u0301l\u200b  Sosa\u200d\tNu\u0301n\u0303ez\ufeff"
    assert clean_text(decomposed) == "Raúl Sosa Núñez"
    assert clean_text("línea 1\r\n\r\n\r\n\r\nlínea\t\t2  ", multiline=True) == "línea 1\n\nlínea 2"
    assert clean_text("a\x00b\x07c") == "a b c"


def test_emoji_cjk_rtl_survive():
    text = "Hola 👋🏽 物流 مرحبا שלום"
    assert clean_text(text) == text


def test_twenty_kilobyte_message_kept_whole():
    message = ("Necesitamos cotizar almacenamiento. " * 600).strip()
    assert len(message) > 20_000
    assert clean_value(message, multiline=True) == message


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert('x')</script>",
        '<img src=x onerror="alert(1)">',
        "'; DROP TABLE crm_lead; --",
        '=HYPERLINK("http://evil.example","clic")',
        "+SUM(A1:A9)",
    ],
)
def test_html_sql_and_formulas_are_kept_verbatim(hostile):
    assert clean_value(hostile) == hostile


@pytest.mark.parametrize(
    "junk",
    ["N/A", "n/a", "-", "--", "asdf", "ASDF", " . ", "{campaignname}", "{{campaign.name}}", "{CampaignName}"],
)
def test_junk_and_ad_macros_are_empty(junk):
    assert is_junk(junk)
    assert clean_value(junk) == ""


def test_real_values_are_not_junk():
    assert not is_junk("Neuquén")
    assert clean_value("Compra de pallets") == "Compra de pallets"


def test_utm_from_fields_with_odd_case_and_spaces():
    utm = extract_utm({"UTM_Source": "  Google ", "utm_medium": "CPC", "utm_campaign": "Verano  2025"})
    assert utm == {
        "utm_source": "google",
        "utm_medium": "cpc",
        "utm_campaign": "verano 2025",
        "utm_term": "",
        "utm_content": "",
    }


def test_utm_only_in_source_url_and_macros_dropped():
    url = (
        "https://intralog.example/contacto/?utm_source=Facebook&utm_medium=social&utm_campaign={campaignname}"
    )
    utm = extract_utm({}, url)
    assert utm["utm_source"] == "facebook"
    assert utm["utm_medium"] == "social"
    assert utm["utm_campaign"] == ""


def test_fields_win_over_source_url():
    utm = extract_utm({"utm_source": "ig"}, "https://x.example/?utm_source=google&utm_term=pallets")
    assert utm["utm_source"] == "ig"
    assert utm["utm_term"] == "pallets"


def test_utm_from_broken_url():
    assert utm_from_url("http://[::1") == {}
    assert utm_from_url("") == {}


def test_fold_ignores_case_accents_and_punctuation():
    assert fold("  ALMACENAMIENTO y Depósito ") == fold("almacenamiento y deposito")
    assert (
        fold("Busco trabajo/ Ofrezco productos o servicios") == "busco trabajo ofrezco productos o servicios"
    )
