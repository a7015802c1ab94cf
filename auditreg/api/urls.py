from django.urls import path

from auditreg.api import views

app_name = "api"

urlpatterns = [
    path("checkpoints/latest", views.LatestCheckpoint.as_view(), name="checkpoint-latest"),
    path("ledger/entries", views.EntryList.as_view(), name="entry-list"),
    path("ledger/entries/<int:seq>", views.EntryDetail.as_view(), name="entry-detail"),
    path("ledger/proofs/inclusion", views.InclusionProof.as_view(), name="proof-inclusion"),
    path("ledger/proofs/consistency", views.ConsistencyProof.as_view(), name="proof-consistency"),
]
