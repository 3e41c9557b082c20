from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.fresh_code import FreshCodeFormMixin
from apps.accounts.models import User

from .delivery import channel_url_error
from .models import Event


class ChannelForm(FreshCodeFormMixin, forms.Form):
    """A new channel; the site will send there, so the second factor is asked again (issue 27)."""

    name = forms.CharField(label=_("名称"), max_length=64, error_messages={"required": _("请填写名称")})
    url = forms.CharField(
        label=_("地址"),
        max_length=2000,
        widget=forms.PasswordInput(render_value=False),
        error_messages={"required": _("请填写通知地址")},
        help_text=_(
            "企业微信群机器人 wecombot://密钥；钉钉 dingtalk://令牌；飞书 feishu://令牌；"
            "邮件 django-mail://收件人（使用网站的邮件设置，只能发到事务所允许的地址或域名）；"
            "通用 JSON webhook json://主机:端口/路径（只能发到管理员在设置中允许的主机）"
        ),
    )
    events = forms.MultipleChoiceField(
        label=_("接收的事件"),
        choices=[(code, label) for code, label in Event.choices if code != Event.TEST],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选则接收全部事件"),
    )
    user = forms.ModelChoiceField(
        label=_("所属人员"),
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label=_("事务所（公共渠道）"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.acting_user.is_firm_admin:  # staff add channels for themselves only
            del self.fields["user"]

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        error = channel_url_error(url)
        if error:
            raise forms.ValidationError(error)
        return url
