from django import forms
from django.utils.translation import gettext_lazy as _

from .services import TEXT_LIMIT


class SendForm(forms.Form):
    """A message from the lead page: a template (by id) or free text."""

    template = forms.IntegerField(label=_("Template"), required=False, min_value=1, max_value=2**31 - 1)
    text = forms.CharField(
        label=_("Message"),
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
