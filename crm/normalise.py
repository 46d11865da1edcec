"""Cleaning of contact data as people type it (web forms, WordPress, imports)."""

import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

DEFAULT_REGION = "AR"

ZERO_WIDTH = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad")
)
_ZERO_WIDTH = re.compile("[" + "".join(map(chr, ZERO_WIDTH)) + "]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"\s+")
_NOT_WORDS = re.compile(r"[\W_]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_INLINE_SPACES = re.compile(r"[^\S\n]+")
# Whitespace other than a space (single-line) or than a space and a line break (multi-line): where a text
# has none of it and no two spaces in a row, collapsing its whitespace changes nothing.
_ODD_SPACE = re.compile(r"[^\S ]")
_ODD_INLINE_SPACE = re.compile(r"[^\S\n ]")
_LINE_EDGES = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
_AD_MACRO = re.compile(r"^(\{\{?\s*[\w.\-]+\s*\}?\}|\[[\w.\-]+\]|%%?[\w.\-]+%%?|__[\w]+__)$")
JUNK_VALUES = {
    "n/a",
    "na",
    "n.a.",
    "n/d",
    "-",
    "--",
    "---",
    ".",
    "..",
    "...",
    "_",
    "x",
    "xx",
    "xxx",
    "asdf",
    "asd",
    "qwerty",
    "null",
    "none",
    "undefined",
    "(not set)",
    "not set",
    "ninguno",
    "ninguna",
    "no aplica",
    "sin datos",
}
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Domains people mistype often enough that an address ending in them is treated as invalid.
MISTYPED_TLDS = (".con", ".cmo", ".comm", ".coom", ".om", ".cm", ".co.ar.", ".com.ra", ".gmail")
_email_validator = EmailValidator()


def clean_text(value, multiline=False):
    """NFC, zero-width and control characters removed, whitespace collapsed ("" for None)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(clean_text(item) for item in value if clean_text(item))
    text = value if isinstance(value, str) else str(value)
    if len(text) <= _CACHED_LENGTH:
        return _clean_cached(text, multiline)
    return _clean(text, multiline)


def _clean(text, multiline):
    """Each step runs over the whole text in C, and only when the text needs it (long messages are common):
    a replacement runs only where a quick search finds something it would change."""
    if not text.isascii():
        text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    if not multiline:
        if "  " in text or _ODD_SPACE.search(text):
            text = _SPACES.sub(" ", text)
        return text.strip()
    if "  " in text or _ODD_INLINE_SPACE.search(text):
        text = _INLINE_SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _LINE_EDGES.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


# Short values (services, places, UTM values, labels) repeat across submissions. What repeats is few:
# syncing 25,000 messy submissions hit these caches as often with 1,024 entries each as with 8,192, and
# every entry is held in each sync process.
_CACHED_LENGTH = 120
_CACHE_ENTRIES = 1024
_clean_cached = lru_cache(maxsize=_CACHE_ENTRIES)(_clean)


def is_junk(text):
    """True for placeholder answers (``N/A``, ``-``, ``asdf``) and unfilled ad macros (``{campaignname}``).

    Both are short: a text longer than ``_CACHED_LENGTH`` is not looked at further.
    """
    stripped = text.strip()
    if len(stripped) > _CACHED_LENGTH:
        return False
    folded = stripped.casefold()
    return not folded or folded in JUNK_VALUES or bool(_AD_MACRO.match(folded))


def clean_value(value, multiline=False):
    """``clean_text`` with junk values and ad macros turned into ""."""
    if isinstance(value, str) and len(value) <= _CACHED_LENGTH:
        return _clean_value_cached(value, multiline)
    return _clean_value(value, multiline)


def _clean_value(value, multiline):
    text = clean_text(value, multiline=multiline)
    return "" if is_junk(text) else text


_clean_value_cached = lru_cache(maxsize=_CACHE_ENTRIES)(_clean_value)


def fold(text):
    """Case- and accent-insensitive comparison key."""
    if isinstance(text, str) and len(text) <= _CACHED_LENGTH:
        return _fold(text)
    return _fold_uncached(text)


def _fold_uncached(text):
    """Only the runs of non-ASCII characters are decomposed and stripped of accents (and of zero-width
    characters); the steps of ``clean_text`` that folding does not need (punctuation, spaces and control
    characters all become one space) are skipped: a long message is folded once, not cleaned again."""
    if not isinstance(text, str):
        text = clean_text(text)
    folded = text.casefold()
    if not folded.isascii():
        folded = _NON_ASCII.sub(_plain_run, folded)
    return _NOT_WORDS.sub(" ", folded).strip()


def _plain_run(match):
    run = match.group()
    return _plain_cached(run) if len(run) <= _CACHED_RUN else _plain(run)


def _plain(run):
    """A run of non-ASCII characters decomposed, without its combining marks and zero-width characters."""
    decomposed = unicodedata.normalize("NFKD", run)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(ZERO_WIDTH)


# Accented letters and emoji between ASCII words: short runs that repeat.
_CACHED_RUN = 8
_plain_cached = lru_cache(maxsize=_CACHE_ENTRIES)(_plain)


_fold = lru_cache(maxsize=_CACHE_ENTRIES)(_fold_uncached)


def normalise_email(value):
    """``(email, valid)``: a valid address trimmed and lower-cased; an invalid one kept as given."""
    text = clean_value(value)
    if not text:
        return "", True
    candidate = text.replace(" ", "").strip(".,;<>").lower()
    if candidate.startswith("mailto:"):
        candidate = candidate[len("mailto:") :]
    try:
        _email_validator(candidate)
    except ValidationError:
        return text, False
    if candidate.endswith(MISTYPED_TLDS):
        return text, False
    return candidate, True


_SCIENTIFIC = re.compile(r"\d[.,]?\d*e\+?\d+", re.I)
_AMBA_MOBILE_WITHOUT_AREA = re.compile(r"^15(\d{8})$")


@lru_cache(maxsize=_CACHE_ENTRIES)
def phone_to_e164(text, region=DEFAULT_REGION):
    """The number in E.164 form, or "" when it is not a valid phone number.

    Argentine national forms (``011 ...``, ``(0351) 15 ...``, ``+54 9 ...``) are understood; a bare
    ``15-xxxx-xxxx`` is read as a Buenos Aires mobile. Spreadsheet-mangled numbers (``1,5E+10``) are rejected.
    """
    text = clean_text(text)
    if not text or not any(ch.isdigit() for ch in text) or _SCIENTIFIC.search(text):
        return ""
    digits = re.sub(r"\D", "", text)
    if region == "AR" and not text.lstrip().startswith("+"):
        amba = _AMBA_MOBILE_WITHOUT_AREA.match(digits)
        if amba:
            text = f"+54911{amba.group(1)}"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=_CACHE_ENTRIES)
def is_mobile(e164):
    """Whether an E.164 number (``phone_to_e164``) is a mobile, which WhatsApp can reach.

    Argentine mobiles are written +54 9 …; elsewhere the numbering plan says (numbers that may be either,
    as in the United States, count as mobiles).
    """
    if not e164 or not e164.startswith("+"):
        return False
    if e164.startswith("+54"):
        return e164.startswith("+549")
    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def utm_from_url(url):
    """The UTM parameters found in a URL's query string."""
    if not url:
        return {}
    return dict(_utm_from_url(url) if isinstance(url, str) else _utm_from_url.__wrapped__(url))


@lru_cache(maxsize=_CACHE_ENTRIES // 4)
def _utm_from_url(url):
    """``utm_from_url`` as a tuple of pairs; a site's pages send the same few URLs over and over."""
    try:
        query = urlsplit(str(url)).query
    except ValueError:
        return ()
    found = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        key = key.strip().lower()
        if key in UTM_KEYS and key not in found:
            found[key] = value
    return tuple(found.items())


def clean_utm(value):
    """A UTM value trimmed, collapsed and lower-cased; macros and junk become ""."""
    return clean_value(value).lower()


def extract_utm(fields, source_url=""):
    """The five UTM values from submitted fields (any case) or else from the source URL."""
    by_key = {clean_text(key).lower().replace(" ", "_"): value for key, value in (fields or {}).items()}
    from_url = utm_from_url(source_url)
    result = {}
    for key in UTM_KEYS:
        value = by_key.get(key)
        value = "" if value is None or value == "" else clean_utm(value)
        if not value:
            value = from_url.get(key)
            value = "" if value is None or value == "" else clean_utm(value)
        result[key] = value
    return result
