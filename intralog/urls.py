from django.conf import settings
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from core import whatsapp
from crm.views.site_history import SiteHistoryView

urlpatterns = [
    # Wagtail's site history at the same addresses (and URL names), paged for millions of lead entries.
    path("admin/reports/site-history/", SiteHistoryView.as_view(), name="crm_site_history"),
    path(
        "admin/reports/site-history/results/",
        SiteHistoryView.as_view(results_only=True),
        name="crm_site_history_results",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("crm.urls")),
    path("integrations/wordpress/", include("wordpress.urls")),
    path("integrations/alerts/", include("alerts.urls")),
    path("integrations/whatsapp/webhook/", whatsapp.webhook, name="whatsapp_webhook"),
    path("forms/", include("forms_builder.urls")),
    path("", include("api.urls")),
    path("", include("ops.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

urlpatterns += [path("", include(wagtail_urls))]
