"""The public site speaks the site's language, whatever the visitor's browser asks for."""

from functools import cache

from django.conf import settings
from django.urls import reverse
from django.utils import translation


@cache
def staff_path_prefixes():
    """Paths that follow each person's own language: the admin and the invitation pages that lead to it."""
    invitation = reverse("crm:accept_invitation", args=["token"]).removesuffix("token/")
    return (reverse("wagtailadmin_home"), invitation)


def is_public_path(path):
    return not path.startswith(staff_path_prefixes())


class SiteLanguageMiddleware:
    """Outside the admin, answer in ``SITE_LANGUAGE_CODE``, whatever ``LocaleMiddleware`` read from Accept-Language.

    The pages' content is written in the site's language, so the header, footer, form labels and
    messages around it are too. Admin previews are rendered as visitors see them. The admin keeps
    each user's chosen language (Wagtail activates it per request).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not (getattr(request, "is_dummy", False) or is_public_path(request.path_info)):
            return self.get_response(request)
        with translation.override(settings.SITE_LANGUAGE_CODE):
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
