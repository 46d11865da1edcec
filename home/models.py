from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from core.visits import track_visit

from .blocks import ContentBlocks, HomeBlocks


class VisitTrackingPage(Page):
    """A public page that starts the visit (landing page, referrer, UTM) the lead forms record."""

    class Meta:
        abstract = True

    def serve(self, request, *args, **kwargs):
        return track_visit(request, super().serve(request, *args, **kwargs))


class HomePage(VisitTrackingPage):
    """The public home page shared by both brands."""

    intro = RichTextField(_("introduction"), blank=True)
    body = StreamField(HomeBlocks(), verbose_name=_("content"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["home.ContentPage", "forms_builder.LeadFormPage"]
    max_count = 1

    class Meta:
        verbose_name = _("home page")


class ContentPage(VisitTrackingPage):
    """A standard page of the public site: heading, text, images and calls to action."""

    intro = RichTextField(_("introduction"), blank=True)
    body = StreamField(ContentBlocks(), verbose_name=_("content"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("intro"), index.SearchField("body")]
    parent_page_types = ["home.HomePage", "home.ContentPage"]
    subpage_types = ["home.ContentPage", "forms_builder.LeadFormPage"]

    class Meta:
        verbose_name = _("content page")
        verbose_name_plural = _("content pages")
