from rest_framework import mixins, serializers, viewsets

from apps.accounts.fresh_code import FreshCodeSerializerMixin
from apps.accounts.models import User
from apps.core.permissions import FirmAdminOnly

from .. import services
from ..delivery import channel_url_error
from ..models import Channel, Event


class ChannelSerializer(FreshCodeSerializerMixin, serializers.ModelSerializer):
    url = serializers.CharField(write_only=True, max_length=2000, help_text="secret: stored encrypted, never returned")
    masked_url = serializers.CharField(read_only=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[c for c in Event.values if c != Event.TEST]),
        required=False,
        help_text="empty or left out: every event",
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), allow_null=True, required=False, help_text="none: the firm's"
    )
    broken = serializers.BooleanField(read_only=True)

    class Meta:
        model = Channel
        fields = ["id", "name", "url", "masked_url", "events", "user", "broken", "created_at", "otp"]
        read_only_fields = ["created_at"]

    def validate_url(self, value):
        error = channel_url_error(value.strip())
        if error:
            raise serializers.ValidationError(error)
        return value.strip()


class ChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """通知渠道 of the firm (user none) and of each staff member."""

    serializer_class = ChannelSerializer
    permission_classes = [FirmAdminOnly]  # channels hold secrets
    queryset = Channel.objects.all()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.add_channel(
            name=data["name"],
            url=data["url"],
            events=data.get("events", []),
            user=self.request.user,
            owner=data.get("user"),
            request=self.request,
        )

    def perform_destroy(self, instance):
        services.remove_channel(instance, user=self.request.user, request=self.request)
