from django.urls import path

from core import whatsapp

app_name = "alerts"

# The webhook's first address, kept for the subscriptions made with it; it is ``core.whatsapp.webhook``,
# which every app listening to WhatsApp notifications hears through (``intralog.urls`` has the new one).
urlpatterns = [
    path("whatsapp/webhook/", whatsapp.webhook, name="whatsapp_webhook"),
]
