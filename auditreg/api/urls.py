from django.urls import path

from auditreg.api import views

app_name = "api"

urlpatterns = [
    path("checkpoints/latest", views.LatestCheckpoint.as_view(), name="checkpoint-latest"),
]
