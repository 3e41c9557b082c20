from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The admin heads each section with its app's verbose name: third-party apps name themselves in
# English (AXES, DJANGO_RQ, OTP_TOTP). Named here in Chinese (English through locale/en).
THIRD_PARTY_NAMES = {
    "axes": _("登录保护"),
    "django_rq": _("后台任务队列"),
    "django_otp": _("两步验证"),
    "otp_totp": _("两步验证设备"),
    "otp_static": _("两步验证备用码"),
    "rest_framework": _("接口"),
    "authtoken": _("接口令牌"),
    "django_filters": _("筛选"),
    "drf_spectacular": _("接口文档"),
    "drf_spectacular_sidecar": _("接口文档资源"),
    "contenttypes": _("内容类型"),
    "sessions": _("会话"),
    "messages": _("消息"),
    "staticfiles": _("静态文件"),
    "admin": _("管理后台"),
    "auth": _("认证和授权"),
}


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = _("基础")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import pre_save

        from . import checks  # noqa: F401  registers the deployment checks
        from .text import store_visible

        pre_save.connect(store_visible, dispatch_uid="apps.core.text.store_visible")

        for config in apps.get_app_configs():
            if config.label in THIRD_PARTY_NAMES:
                config.verbose_name = THIRD_PARTY_NAMES[config.label]
