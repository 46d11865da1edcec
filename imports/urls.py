from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.run_page, name="run"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/errors/", views.errors_csv, name="errors"),
    path("<int:pk>/revert/", views.revert, name="revert"),
    path("<int:pk>/resume/", views.resume, name="resume"),
]
