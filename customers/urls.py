from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("lead/<int:pk>/convert/", views.convert, name="convert"),
]
