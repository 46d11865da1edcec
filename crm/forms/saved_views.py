"""The form that names and shares a saved view of the lead listing or board."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import saved_views
from crm.models import Brand, Role, SavedView, User


class SavedViewForm(forms.Form):
    """Name, who sees it (only what the person's role may share) and whether the "Leads" menu opens it.

    The rules are ``crm.saved_views``'s; this form offers what they allow and reads the request.
    """

    name = forms.CharField(label=_("Name"), max_length=saved_views.MAX_NAME)
    visibility = forms.ChoiceField(label=_("Shared with"), widget=forms.RadioSelect, required=False)
    brands = forms.ModelMultipleChoiceField(
        label=_("Brands"),
        queryset=Brand.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For a brand team: the managers and employees of these brands see the view."),
    )
    make_default = forms.BooleanField(
        label=_("Open it from the Leads menu"),
        required=False,
        help_text=_("Your default view: the Leads menu opens it instead of the suggested one."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = saved_views.visibilities_for(user)
        visibility = self.fields["visibility"]
        visibility.choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in SavedView.Visibility.choices if value in allowed
        ]
        visibility.initial = SavedView.Visibility.PRIVATE
        if len(allowed) <= 1:
            visibility.widget = forms.HiddenInput()
        brands = saved_views.shareable_brands(user)
        if SavedView.Visibility.BRAND in allowed:
            self.fields["brands"].queryset = brands  # type: ignore[attr-defined]
            if "brands" not in self.initial and user.role != Role.ADMIN:
                self.initial["brands"] = list(brands)
        else:
            del self.fields["brands"]

    def clean_visibility(self) -> str:
        return self.cleaned_data["visibility"] or SavedView.Visibility.PRIVATE
