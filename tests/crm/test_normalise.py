"""Normalisation of what real submissions contain (reference: wordpress-sources.md)."""

import random
import re
import unicodedata

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


def _clean_every_step(text, multiline):
    """``clean_text`` as it was before it skipped the replacements a text does not need."""
    import re
    import unicodedata

    if not text.isascii():
        zero_width = "[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad]"
        text = re.sub(zero_width, "", unicodedata.normalize("NFC", text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", " ", text)
    if not multiline:
        return re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" ?\n ?", "\n", re.sub(r"[^\S\n]+", " ", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def test_cleaning_skips_only_steps_that_would_change_nothing():
    """Random texts of the characters each step looks at, long and short, give what running every step gives."""
    import random

    rng = random.Random(7)
    alphabet = list(
        "ab Zé\n\n  \t\r\x0b\x0c\x1c\x1f\x00\x7f\xa0\u2003\u3000\u2028\u0085\u200b\ufeffe\u0301😀中"
    )
    texts = ["", " ", "\n", " \n ", "a  b", "a\tb", "a\n\n\nb", "a \nb", "a\n b", "a\u00a0b", "e\u0301"]
    for _ in range(4000):
        texts.append("".join(rng.choices(alphabet, k=rng.choice([1, 3, 8, 40, 200]))))
        texts.append(
            " ".join(rng.choices(["hola", "qué", "tal", "\n", "\n\n", "  ", "x\ty"], k=rng.randint(1, 60)))
        )
    for text in texts:
        for multiline in (False, True):
            assert clean_text(text, multiline=multiline) == _clean_every_step(text, multiline), (
                text,
                multiline,
            )


def test_fold_turns_each_run_of_punctuation_and_spaces_into_one_space():
    """The same as replacing each punctuation mark (and ``_``) by a space, then collapsing spaces."""
    rng = random.Random(7)
    alphabet = "aáÁñÑüçß _-.,;:¿?¡!'\"/\\()[]{}@#$%&*+=<>|~`^\t\n\r\x00\x1f\x7f\u00a0\u00ad\u2003\u200b\ufeff\u0301\u0345ﬁ½𝔘5٣中"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        decomposed = unicodedata.normalize("NFKD", clean_text(text).casefold())
        unmarked = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        expected = re.sub(r"\s+", " ", re.sub(r"[^\w\s]|_", " ", unmarked)).strip()
        assert fold(text) == expected, repr(text)


def _folded_as_a_whole(text):
    """``fold`` as it was before only the non-ASCII runs were decomposed: the whole text at once."""
    text = re.sub("[\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad]", "", text)
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", text).casefold())
    unmarked = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\W_]+", " ", unmarked).strip()


def test_fold_decomposing_only_non_ascii_runs_gives_what_the_whole_text_gives():
    """Every code point, in runs of neighbours and shuffled among ASCII words, long texts included."""
    import sys

    points = [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]
    rng = random.Random(11)
    texts = ["".join(points[start : start + 48]) for start in range(0, len(points), 48)]
    shuffled = points[:]
    rng.shuffle(shuffled)
    words = ["hola", "Señor", "DEPÓSITO", " ", "\n", "e\u0301", "I\u0307", "😀", "ß", "ﬁ"]
    for start in range(0, len(shuffled), 400):
        pieces = shuffled[start : start + 400] + rng.choices(words, k=400)
        rng.shuffle(pieces)
        texts.append("".join(pieces))
    for text in texts:
        assert fold(text) == _folded_as_a_whole(text), repr(text)
