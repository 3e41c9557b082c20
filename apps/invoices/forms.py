import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.clients.models import Client
from apps.core.filters import DateInput
from apps.core.forms import MonthField

from .lookup import Criteria
from .models import CODE, NUMBER

CODE_ERROR = _("发票代码应为10位或12位数字")
NUMBER_ERROR = _("发票号码应为8位数字（数电票为20位）")
MAX_SPAN = dt.timedelta(days=366)


class ScopedForm(forms.Form):
    """A form with an optional client among those the user may see."""

    client = forms.ModelChoiceField(
        label=_("客户"),
        queryset=Client.objects.none(),
        required=False,
        empty_label=_("全部客户"),
        error_messages={"invalid_choice": _("没有这个客户，或您无权查看")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # a ModelChoiceField, whose queryset the stubs do not know from Field
        self.fields["client"].queryset = Client.objects.visible_to(user).order_by("name")  # type: ignore[attr-defined]

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if code and not CODE.fullmatch(code):
            raise forms.ValidationError(CODE_ERROR)
        return code

    def clean_number(self):
        number = self.cleaned_data["number"].strip()
        if number and not NUMBER.fullmatch(number):
            raise forms.ValidationError(NUMBER_ERROR)
        return number

    def _code_needs_number(self, data) -> None:
        if data.get("code") and not data.get("number") and "number" not in self.errors:
            self.add_error("number", _("填写了发票代码时请同时填写发票号码"))


class SearchForm(ScopedForm):
    """发票查询: by code and number, by the dates issued, by amount, or several of them at once."""

    code = forms.CharField(label=_("发票代码"), required=False, max_length=12)
    number = forms.CharField(label=_("发票号码"), required=False, max_length=20)
    date_from = forms.DateField(label=_("开票日期从"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("开票日期到"), required=False, widget=DateInput())
    amount = forms.DecimalField(
        label=_("金额或价税合计"),
        required=False,
        max_digits=14,
        decimal_places=2,
        error_messages={"invalid": _("金额应为数字，最多两位小数")},
    )
    field_order = ["code", "number", "date_from", "date_to", "amount", "client"]

    def clean(self):
        data = super().clean() or {}
        self._code_needs_number(data)
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("结束日期不能早于开始日期"))
        elif start and end and end - start > MAX_SPAN:
            self.add_error("date_to", _("日期范围不能超过一年"))
        if data.get("amount") == 0:
            self.add_error("amount", _("金额不能为0"))
        asked = any(data.get(name) for name in ("number", "date_from", "date_to")) or data.get("amount")
        if not asked and not self.errors:
            raise forms.ValidationError(_("请填写发票号码、开票日期或金额中的至少一项"))
        return data

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        return Criteria(
            code=data["code"],
            number=data["number"],
            date_from=data["date_from"],
            date_to=data["date_to"],
            amount=data["amount"],
            client=data["client"],
        )


class SyncForm(ScopedForm):
    """Read the invoices from the devices now: of one month, or the one invoice with this code and number."""

    month = MonthField(label=_("月份"), required=False)
    code = forms.CharField(label=_("发票代码"), required=False, max_length=12)
    number = forms.CharField(label=_("发票号码"), required=False, max_length=20)
    # one invoice: ask the devices likely to hold it, or the rest; `asked` is when the look-up began
    devices = forms.ChoiceField(choices=[("likely", "likely"), ("rest", "rest")], required=False)
    asked = forms.IntegerField(required=False, min_value=0, max_value=2**40)

    def clean(self):
        data = super().clean() or {}
        self._code_needs_number(data)
        if not data.get("month") and not data.get("number") and not self.errors:
            raise forms.ValidationError(_("请指定月份，或发票代码与号码"))
        return data

    def query(self) -> dict[str, str]:
        data = self.cleaned_data
        if data["number"]:
            return {"code": data["code"], "number": data["number"]}
        return {"month": f"{data['month']:%Y-%m}"}
