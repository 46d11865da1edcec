from django.urls import path

from .views import invitations

app_name = "crm"

urlpatterns = [
    path("invitation/<str:token>/", invitations.accept_invitation, name="accept_invitation"),
]
