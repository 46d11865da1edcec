from django.urls import path

from . import views

app_name = "dashboards"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("pipeline/", views.PipelineView.as_view(), name="pipeline"),
    path("revenue/", views.RevenueView.as_view(), name="revenue"),
    path("team/", views.TeamView.as_view(), name="team"),
    path("campaigns/", views.CampaignsView.as_view(), name="campaigns"),
]
