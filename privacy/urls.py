from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path("", views.request_view, name="request"),
]
