"""Principals in the Django admin, read-only: they change only through the services, each
change a ledger fact."""

from django.contrib import admin
from django.contrib.auth.models import Group, User

from auditreg.accounts.models import Principal
from auditreg.ledger.admin import ReadOnlyAdmin


@admin.register(Principal)
class PrincipalAdmin(ReadOnlyAdmin):
    list_display = ["actor_id", "printed_name", "kind", "active"]
    list_filter = ["kind", "active"]


# Accounts are not administered here: a password or a group set in the Django admin would
# leave no ledger record (and would let one administrator sign as anyone). People are
# enrolled, given roles and have passwords set through the portal's administration and the
# accounts' services, each a ledger fact.
admin.site.unregister(User)
admin.site.unregister(Group)
