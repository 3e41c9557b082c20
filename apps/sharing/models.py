"""A read-only status link the firm sends to a client company: signed, expiring, revocable."""

import datetime as dt

from django.conf import settings
from django.core import signing
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core import clock

SALT = "qingka.sharing.link"
DEFAULT_DAYS = 30
DAYS_CHOICES = [(7, _("7 天")), (30, _("30 天")), (90, _("90 天")), (180, _("180 天"))]


class ShareLink(models.Model):
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="share_links"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), default=clock.now, editable=False)
    expires_at = models.DateTimeField(_("失效时间"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("撤销人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("状态分享链接")
        verbose_name_plural = _("状态分享链接")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.client} #{self.pk}"

    @property
    def audit_client(self):
        return self.client

    @property
    def token(self) -> str:
        """Signed with the site's secret: the link names its row and client and cannot be forged."""
        return signing.dumps({"link": self.pk, "client": self.client_id}, salt=SALT, compress=True)

    def is_active(self, now: dt.datetime | None = None) -> bool:
        return self.revoked_at is None and (now or clock.now()) < self.expires_at

    @classmethod
    def for_token(cls, token: str) -> "ShareLink | None":
        """The link a token names if its signature holds, active or not."""
        try:
            payload = signing.loads(token, salt=SALT)
            link_id, client_id = int(payload["link"]), int(payload["client"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            return None
        return cls.objects.select_related("client__staff", "created_by").filter(pk=link_id, client_id=client_id).first()

    @property
    def contact(self):
        """Whom the client should ask for a new link: their 负责会计, else whoever made this one."""
        return self.client.staff or self.created_by
