"""The API tokens page in the admin and its entry in the person's account area."""

from typing import Any

from django.http import HttpRequest
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from . import account

app_name = "api_tokens"
urlpatterns = [
    path("", account.token_list, name="list"),
    path("<int:token_id>/revoke/", account.revoke, name="revoke"),
]


@hooks.register("register_admin_urls")
def register_api_token_urls() -> list[Any]:
    return [path("api-tokens/", include((urlpatterns, app_name), namespace=app_name))]


@hooks.register("register_account_menu_item")
def register_api_tokens_menu_item(request: HttpRequest) -> dict[str, Any]:
    return {
        "url": reverse("api_tokens:list"),
        "label": _("API tokens"),
        "help_text": _("Personal tokens for the API: they see exactly the leads you see."),
    }
