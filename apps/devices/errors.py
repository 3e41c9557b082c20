"""The catalogue of device and bureau errors: stable code → Chinese message, staff remedy and
retry class. The agent reports only codes (agent/qingka_agent/drivers/base.py); the site decides."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from apps.core.text import Text

RETRY = "retry"  # transient: retried with backoff up to the job's limit
NEVER = "never"  # needs a person; retrying can do harm (passwords!) or cannot help
DEVICE_LOCKED = "DEVICE_LOCKED"  # the device is past its 开票截止日期 (248, 0x09d109)
OUTSIDE_WINDOW = "OUTSIDE_WINDOW"  # too early: retried when the window opens (jobs/outcomes.fail)
RESULT_TOO_LARGE = "RESULT_TOO_LARGE"  # a result the site cannot take whole: more invoices than a page holds
FILED_BEFORE_SUMMARY = "FILED_BEFORE_SUMMARY"  # 先申报后抄报: refused by the site before any clear (rules.py)
OFFLINE_PENDING = (
    "OFFLINE_PENDING"  # offline invoices still on the device: refused by the site before a 抄报 (rules.py)
)


@dataclass(frozen=True)
class DeviceErrorInfo:
    code: str
    message: Text
    remedy: Text
    retry: str
    password: bool = False  # a wrong or locked password: the device is held until a person acts


_CATALOGUE = [
    DeviceErrorInfo("DEVICE_MISSING", _("未插税控设备"), _("插好设备并确认系统识别"), NEVER),
    DeviceErrorInfo("NOT_REGISTERED", _("税控设备未注册"), _("联系主管税务机关办理注册"), NEVER),
    DeviceErrorInfo("SUMMARY_NOT_DONE", _("未完成抄报"), _("先执行抄报，再清卡"), NEVER),
    DeviceErrorInfo("RETURN_NOT_FILED", _("未完成申报/报税"), _("在电子税务局完成本期申报后再清卡"), NEVER),
    DeviceErrorInfo(
        "OUTSIDE_WINDOW",
        _("当前时间不在允许范围内"),
        _("抄报须在次月1日00:05之后、征期之内进行；系统在抄报期开始时自动重试"),
        NEVER,
    ),
    DeviceErrorInfo(
        "FILED_BEFORE_SUMMARY",
        _("先申报后抄报：申报早于本期抄报"),
        _("作废申报 → 抄报 → 重新申报，记录新的申报日期后再清卡"),
        NEVER,
    ),
    DeviceErrorInfo("TRANSFER_FAILED", _("数据传输失败"), _("检查前置机网络，系统将自动重试"), RETRY),
    DeviceErrorInfo("RECONCILIATION_FAILED", _("票表比对不通过"), _("核对申报表与开票数据，更正申报后再清卡"), NEVER),
    DeviceErrorInfo(
        "CERT_PASSWORD_WRONG",
        _("证书口令错误"),
        _("核对并更正证书口令；切勿反复尝试，次数用完将锁定"),
        NEVER,
        password=True,
    ),
    DeviceErrorInfo("CERT_LOCKED", _("证书口令已锁定"), _("携带设备到主管税务机关解锁"), NEVER, password=True),
    DeviceErrorInfo("DEVICE_PASSWORD_WRONG", _("设备口令错误"), _("核对并更正设备口令"), NEVER, password=True),
    DeviceErrorInfo(
        "DEVICE_PASSWORD_LOCKED", _("设备口令锁定"), _("联系设备服务商或主管税务机关解锁"), NEVER, password=True
    ),
    DeviceErrorInfo("DEVICE_BUSY", _("税盘正在被使用"), _("关闭占用设备的开票软件，系统将自动重试"), RETRY),
    DeviceErrorInfo("PORT_UNAUTHORIZED", _("USB端口未授权"), _("在机柜管理中为该端口授权"), NEVER),
    DeviceErrorInfo(
        "DEVICE_LOCKED",
        _("已到开票截止日期，设备已锁死"),
        _("完成申报后抄报清卡；超期过久须到税务机关处理"),
        NEVER,
    ),
    DeviceErrorInfo("UPLOAD_OVERDUE", _("已到上传截止日期，上月有已开未上传发票"), _("先上传离线发票，再抄报"), NEVER),
    DeviceErrorInfo(
        "OFFLINE_PENDING",
        _("设备上有离线开具、尚未上传的发票"),
        _("先执行“上传离线发票”，成功后再抄报（自动清卡与批量任务会先上传）"),
        NEVER,
    ),
    DeviceErrorInfo(
        "MULTI_MONTH_UNREPORTED",
        _("抄税失败，可能存在多月未正常抄报"),
        _("需人工处理，超过90天未抄报须到税务机关"),
        NEVER,
    ),
    DeviceErrorInfo("DEVICE_NOT_STARTED", _("设备未开启"), _("重新插拔或给端口断电重启，系统将自动重试"), RETRY),
    DeviceErrorInfo("KEY_UPDATE_REQUIRED", _("需要更新安全认证密钥"), _("用开票软件联网更新密钥"), NEVER),
    DeviceErrorInfo("CLOCK_ERROR", _("设备时钟错误"), _("联系设备服务商校准时钟"), NEVER),
    DeviceErrorInfo("CERT_REPORTED_LOST", _("证书已挂失"), _("联系主管税务机关"), NEVER),
    DeviceErrorInfo("CERT_REVOKED", _("证书已作废"), _("联系主管税务机关"), NEVER),
    DeviceErrorInfo("CERT_STATUS_UNKNOWN", _("证书状态未知"), _("联系主管税务机关核实证书状态"), NEVER),
    DeviceErrorInfo(
        "CLEAR_FAILED",
        _("清卡失败"),
        _("查看任务上记录的设备原文；核对申报已记录、抄报已完成后再清卡，仍不成功联系主管税务机关"),
        NEVER,
    ),
    DeviceErrorInfo("TIMEOUT", _("设备操作超时"), _("检查设备与前置机，系统将自动重试"), RETRY),
    DeviceErrorInfo("DRIVER_ERROR", _("设备驱动异常"), _("查看前置机日志，必要时联系技术支持"), NEVER),
    DeviceErrorInfo(
        "UNSUPPORTED",
        _("该设备的驱动不支持此操作"),
        _("在开票软件中手工完成（离线发票：机柜每2小时自动上传）"),
        NEVER,
    ),
    DeviceErrorInfo(
        "RESULT_TOO_LARGE",
        _("查询结果超过网站能接收的大小"),
        _("升级前置机到能分页回报的版本（0.4 起）后重新查询；或按发票代码与号码查询"),
        NEVER,
    ),
    DeviceErrorInfo("LEASE_EXPIRED", _("前置机未在租约内回报"), _("检查前置机是否在线，系统将自动重试"), RETRY),
]
ERRORS = {info.code: info for info in _CATALOGUE}
PASSWORD_CODES = tuple(info.code for info in _CATALOGUE if info.password)


def error_info(code: str) -> DeviceErrorInfo:
    """Unknown codes are treated as a driver error: never retried blindly."""
    return ERRORS.get(code) or DeviceErrorInfo(code, _("未知错误"), _("查看前置机日志，必要时联系技术支持"), NEVER)


def error_label(code: str) -> str:
    """The catalogue's message; an unknown code reads as 未知错误."""
    return str(error_info(code).message)
