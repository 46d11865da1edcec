from django.urls import path

from . import views

app_name = "conversations"

urlpatterns = [
    path("lead/<int:pk>/messages/", views.lead_messages_view, name="messages"),
    path("lead/<int:pk>/send/", views.send, name="send"),
    path("lead/<int:pk>/email/", views.send_email, name="email"),
    path("message/<int:pk>/retry/", views.retry, name="retry"),
    path("message/<int:pk>/file/", views.media, name="media"),
    path("document/<int:pk>/", views.attachment, name="attachment"),
]
