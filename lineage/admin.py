"""The lineage graph in the Django admin, read-only: its tables are projections of the ledger."""

from django.contrib import admin

from auditreg.ledger.admin import ReadOnlyAdmin
from lineage.models import Edge, Event, Node


@admin.register(Node)
class NodeAdmin(ReadOnlyAdmin):
    list_display = ["subject", "kind", "digest", "recorded_seq"]
    list_filter = ["kind"]
    search_fields = ["subject", "digest"]


@admin.register(Edge)
class EdgeAdmin(ReadOnlyAdmin):
    list_display = ["source", "relation", "target", "seq"]
    list_filter = ["relation"]
    search_fields = ["source", "target"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["digest", "event_type", "run", "job", "event_time"]
    list_filter = ["event_type"]
    search_fields = ["digest", "run", "job"]
