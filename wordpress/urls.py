from django.urls import path

from . import views

app_name = "wordpress"

urlpatterns = [
    path("<slug:slug>/hook/", views.receive, name="webhook"),
    path("<slug:slug>/hook/<str:token>/", views.receive, name="webhook_token"),
]
