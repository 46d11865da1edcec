"""Saved views of the lead listing and board: a name for a set of filters, a search and a sort.

Who may save, share, open, rename and delete a view is ``crm.saved_views``'s; a view holds no lead,
only the query the listing or board is opened with, so whoever opens it sees the leads of their own
access (``crm.access.leads_for``).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import Brand


class SavedView(models.Model):
    """A listing or board its owner named: the filters, search and sort as a query string."""

    class Kind(models.TextChoices):
        LISTING = "listing", _("Listing")
        BOARD = "board", _("Board")

    class Visibility(models.TextChoices):
        PRIVATE = "private", _("Only me")
        BRAND = "brand", _("Brand team")
        EVERYONE = "everyone", _("Everyone")

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("owner"),
    )
    kind = models.CharField(_("opens as"), max_length=8, choices=Kind.choices, default=Kind.LISTING)
    query = models.CharField(_("filters"), max_length=2000, blank=True)
    visibility = models.CharField(
        _("shared with"), max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    brands = models.ManyToManyField(
        Brand,
        blank=True,
        related_name="+",
        verbose_name=_("brands"),
        help_text=_("For a view shared with a brand's team: the brands whose people see it."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["owner", "kind", "name"], name="crm_saved_view_name_per_owner")
        ]
        indexes = [models.Index(fields=["visibility", "kind"], name="crm_saved_view_shared")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_shared(self) -> bool:
        return self.visibility != self.Visibility.PRIVATE


class DefaultView(models.Model):
    """The view a person's "Leads" menu opens: a saved view they may open, or a built-in one
    (``crm.saved_views.BUILTIN_VIEWS``) as a listing or a board. Without one, their role's built-in."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="default_lead_view",
        verbose_name=_("user"),
    )
    saved_view = models.ForeignKey(
        SavedView, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("view")
    )
    builtin = models.CharField(_("built-in view"), max_length=32, blank=True)
    kind = models.CharField(
        _("opens as"), max_length=8, choices=SavedView.Kind.choices, default=SavedView.Kind.LISTING
    )

    class Meta:
        verbose_name = _("default view")
        verbose_name_plural = _("default views")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(saved_view__isnull=True, builtin__gt="")
                | models.Q(saved_view__isnull=False, builtin=""),
                name="crm_default_view_one_target",
            )
        ]

    def __str__(self) -> str:
        return str(self.saved_view) if self.saved_view_id else self.builtin
