"""The Django admin shows ledger data read-only: the ledger is written only by services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from auditreg.ledger.models import Checkpoint, Entry


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["seq", "recorded_at", "kind", "subject", "actor"]
    list_filter = ["kind"]
    search_fields = ["subject", "actor"]
    readonly_fields = ["seq", "recorded_at", "kind", "subject", "actor", "hash_hex", "canonical"]
    exclude = ["hash", "subtrees", "body"]
    show_full_result_count = False

    @admin.display(description="canonical bytes")
    def canonical(self, entry: Entry) -> str:
        return bytes(entry.body).decode(errors="replace")


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "created_at", "key_name"]
    readonly_fields = ["tree_size", "root_hex", "key_name", "created_at", "note"]
    exclude = ["root_hash"]
