from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    class Role(models.TextChoices):
        ADMIN = "admin", _("管理员")
        ACCOUNTANT = "accountant", _("会计")
        READONLY = "readonly", _("只读")

    role = models.CharField(_("角色"), max_length=16, choices=Role.choices, default=Role.READONLY)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.display_name or self.username

    @property
    def is_firm_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN
