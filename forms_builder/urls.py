"""Mounted at /forms/. The lead forms themselves are Wagtail pages served from the page tree and
their reports live in the admin (``wagtail_hooks``), so nothing else is routed here yet."""

from django.urls import URLPattern, URLResolver

app_name = "forms_builder"

urlpatterns: list[URLPattern | URLResolver] = []
