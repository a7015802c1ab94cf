from django.urls import path

from auditreg.api import lineage_views as lineage
from auditreg.api import registry_views as registry
from auditreg.api import report_views as reports
from auditreg.api import views

app_name = "api"

VERSION = "models/<slug:slug>/versions/<int:number>"

urlpatterns = [
    path("models", registry.ModelList.as_view(), name="model-list"),
    path("models/<slug:slug>", registry.ModelDetail.as_view(), name="model-detail"),
    path(
        "models/<slug:slug>/corrections",
        registry.ModelCorrectionCreate.as_view(),
        name="model-corrections",
    ),
    path("models/<slug:slug>/versions", registry.VersionList.as_view(), name="version-list"),
    path(VERSION, registry.VersionDetail.as_view(), name="version-detail"),
    path(
        f"{VERSION}/corrections",
        registry.VersionCorrectionCreate.as_view(),
        name="version-corrections",
    ),
    path(f"{VERSION}/monitoring", registry.MonitoringCreate.as_view(), name="monitoring"),
    path(f"{VERSION}/signatures", registry.SignatureCreate.as_view(), name="signatures"),
    path(f"{VERSION}/content-to-sign", registry.ContentToSign.as_view(), name="content-to-sign"),
    path("use-cases", registry.UseCaseList.as_view(), name="use-case-list"),
    path("authorizations", registry.AuthorizationList.as_view(), name="authorization-list"),
    path("as-of", registry.AsOf.as_view(), name="as-of"),
    path("datasets", lineage.DatasetCreate.as_view(), name="datasets"),
    path("snapshots", lineage.SnapshotCreate.as_view(), name="snapshots"),
    path("runs", lineage.RunCreate.as_view(), name="runs"),
    path("lineage", lineage.OpenLineageEndpoint.as_view(), name="openlineage"),
    path("lineage/nodes", lineage.NodeList.as_view(), name="node-list"),
    path("lineage/nodes/<path:subject>", lineage.NodeDetail.as_view(), name="node-detail"),
    path("lineage/upstream", lineage.Upstream.as_view(), name="upstream"),
    path("lineage/downstream", lineage.Downstream.as_view(), name="downstream"),
    path("lineage/diff", lineage.Diff.as_view(), name="diff"),
    path("reports", reports.ReportCreate.as_view(), name="report-create"),
    path("reports/<uuid:report_id>", reports.ReportDetail.as_view(), name="report-detail"),
    path("reports/<uuid:report_id>/pdf", reports.ReportFile.as_view(), name="report-file"),
    path("checkpoints/latest", views.LatestCheckpoint.as_view(), name="checkpoint-latest"),
    path("ledger/entries", views.EntryList.as_view(), name="entry-list"),
    path("ledger/entries/<int:seq>", views.EntryDetail.as_view(), name="entry-detail"),
    path("ledger/proofs/inclusion", views.InclusionProof.as_view(), name="proof-inclusion"),
    path("ledger/proofs/consistency", views.ConsistencyProof.as_view(), name="proof-consistency"),
]
