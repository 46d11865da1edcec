"""The form behind a move on the lead board (a drop, or the card's move menu)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import PipelineStatus

from .deals import lost_reason_field
from .followups import follow_up_date_field


class BoardMoveForm(forms.Form):
    """Where to, from which status the person saw the card in, and what the target status asks for.

    The rules (who may move where, the reason a lost lead needs, the follow-up date some statuses need)
    are ``crm.services.change_status``'s; this form only reads the request.
    """

    status = forms.ModelChoiceField(queryset=PipelineStatus.objects.all(), label=_("New status"))
    from_status = forms.ModelChoiceField(queryset=PipelineStatus.objects.all(), label=_("Current status"))
    note = forms.CharField(label=_("Note"), required=False, max_length=5000)
    follow_up_at = follow_up_date_field()
    lost_reason = lost_reason_field()
