"""Two-factor sign-in in the admin: its URLs and the entry in the person's account area."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from crm import two_factor
from crm.views import two_factor as views

app_name = "crm_two_factor"
urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("settings/", views.account, name="account"),
    path("reset/<int:user_id>/", views.reset, name="reset"),
]


@hooks.register("register_admin_urls")
def register_two_factor_urls():
    return [path("two-factor/", include((urlpatterns, app_name), namespace=app_name))]


@hooks.register("register_account_menu_item")
def register_two_factor_menu_item(request):
    enabled = two_factor.has_second_factor(request.user)
    return {
        "url": reverse("crm_two_factor:account"),
        "label": _("Two-factor sign-in"),
        "help_text": _("On: a code from your phone after the password.")
        if enabled
        else _("Off: turn it on to ask for a code from your phone after the password."),
    }
