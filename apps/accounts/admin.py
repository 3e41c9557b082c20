from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiToken, FirmSettings, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), (_("清卡"), {"fields": ("role", "display_name")}))
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, (_("清卡"), {"fields": ("role", "display_name")}))
    list_display = ("username", "display_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "display_name", "email")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """管理员 see and revoke (set 撤销时间) any token; tokens are made on the token page only."""

    list_display = ("user", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "user__display_name", "name", "prefix")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at")

    def has_add_permission(self, request):
        return False


@admin.register(FirmSettings)
class FirmSettingsAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return not FirmSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
