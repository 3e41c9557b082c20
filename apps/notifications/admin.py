from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Channel, Delivery, Notification


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    """Added and removed on the 通知渠道 page; the URL is a secret and is never shown."""

    list_display = ("name", "masked_url", "user", "failures_in_a_row", "created_at")
    fields = ("name", "masked_url", "events", "user", "failures_in_a_row", "created_at")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "event", "subject", "client")
    list_filter = ("event",)
    search_fields = ("subject", "key")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("notification", "channel", "state", "attempts", "sent_at")
    list_filter = ("state",)
    list_select_related = ("notification", "channel")
