"""Template helpers of the admin as a whole: branding and who may search pages."""

from django import template
from django.conf import settings
from wagtail.admin.auth import user_has_any_page_permission

register = template.Library()


@register.simple_tag
def site_name():
    return settings.WAGTAIL_SITE_NAME


@register.simple_tag(takes_context=True)
def can_search_pages(context):
    """Whether the page search is any use to the user: only people who work on pages get it."""
    request = context.get("request")
    return bool(request) and user_has_any_page_permission(request.user)
