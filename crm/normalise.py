"""Cleaning of contact data as people type it."""

import phonenumbers

DEFAULT_REGION = "AR"


def phone_to_e164(text, region=DEFAULT_REGION):
    """The number in E.164 form, or "" when it is not a possible phone number."""
    if not text or not any(ch.isdigit() for ch in text):
        return ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
