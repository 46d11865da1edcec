from django.db import models
from django.utils.translation import gettext_lazy as _

KEY_LENGTH = 160


class OnceKey(models.Model):
    """A POST carried out under a key (``core.once``): the same POST again, a double click or a proxy's
    retry, finds it and is not carried out twice. Kept until ``expires_at``."""

    key = models.CharField(_("key"), max_length=KEY_LENGTH, unique=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("POST carried out")
        verbose_name_plural = _("POSTs carried out")

    def __str__(self) -> str:
        return self.key
