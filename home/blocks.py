"""StreamField blocks of the public pages: hero, brand services, calls to action, text."""

from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

ICON_CHOICES = [
    ("fa-warehouse", _("Warehouse")),
    ("fa-truck", _("Truck")),
    ("fa-truck-fast", _("Fast truck")),
    ("fa-ship", _("Ship")),
    ("fa-globe", _("Globe")),
    ("fa-boxes-stacked", _("Boxes")),
    ("fa-pallet", _("Pallet")),
    ("fa-ruler-combined", _("Measure")),
    ("fa-recycle", _("Recycle")),
    ("fa-handshake", _("Handshake")),
    ("fa-phone", _("Phone")),
    ("fa-envelope", _("Envelope")),
    ("fa-file-signature", _("Quote")),
]


class LinkBlock(blocks.StructBlock):
    label = blocks.CharBlock(label=_("label"), max_length=60)
    page = blocks.PageChooserBlock(label=_("page"), required=False)
    url = blocks.URLBlock(label=_("or external URL"), required=False)
    icon = blocks.ChoiceBlock(label=_("icon"), choices=ICON_CHOICES, required=False)

    class Meta:
        icon = "link"
        label = _("Link")
        template = "home/blocks/link.html"


class HeroBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("heading"), max_length=120)
    text = blocks.TextBlock(label=_("text"), required=False, max_length=400)
    image = ImageChooserBlock(label=_("background image"), required=False)
    links = blocks.ListBlock(LinkBlock(), label=_("calls to action"), max_num=3, default=[])

    class Meta:
        icon = "title"
        label = _("Hero")
        template = "home/blocks/hero.html"


class ServiceBlock(blocks.StructBlock):
    icon = blocks.ChoiceBlock(label=_("icon"), choices=ICON_CHOICES, required=False)
    title = blocks.CharBlock(label=_("title"), max_length=80)
    text = blocks.TextBlock(label=_("text"), required=False, max_length=300)


class BrandServicesBlock(blocks.StructBlock):
    brand = blocks.CharBlock(label=_("brand"), max_length=40)
    tagline = blocks.CharBlock(label=_("tagline"), required=False, max_length=160)
    colour = blocks.ChoiceBlock(
        label=_("colour"),
        choices=[("w3-indigo", _("Indigo")), ("w3-deep-orange", _("Orange")), ("w3-teal", _("Teal"))],
        default="w3-indigo",
    )
    services = blocks.ListBlock(ServiceBlock(), label=_("services"), default=[])
    call_to_action = LinkBlock(label=_("call to action"), required=False)

    class Meta:
        icon = "list-ul"
        label = _("Brand and services")
        template = "home/blocks/brand_services.html"


class CallToActionBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("heading"), max_length=120)
    text = blocks.TextBlock(label=_("text"), required=False, max_length=400)
    links = blocks.ListBlock(LinkBlock(), label=_("buttons"), max_num=4, default=[])

    class Meta:
        icon = "pick"
        label = _("Call to action")
        template = "home/blocks/call_to_action.html"


class ContentBlocks(blocks.StreamBlock):
    heading = blocks.CharBlock(label=_("heading"), max_length=120, template="home/blocks/heading.html")
    paragraph = blocks.RichTextBlock(
        label=_("paragraph"), features=["bold", "italic", "link", "ol", "ul", "h3"]
    )
    image = ImageChooserBlock(label=_("image"), template="home/blocks/image.html")
    call_to_action = CallToActionBlock()


class HomeBlocks(blocks.StreamBlock):
    hero = HeroBlock()
    brand_services = BrandServicesBlock()
    call_to_action = CallToActionBlock()
    paragraph = blocks.RichTextBlock(
        label=_("paragraph"), features=["bold", "italic", "link", "ol", "ul", "h3"]
    )
