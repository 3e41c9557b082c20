from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows people change on the site's own pages (where the change is checked and audited);
    the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
