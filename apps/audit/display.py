"""How an audit event reads to a person: a Chinese label for each action code the site writes
(apps/*: log.record(...)), and its before/after as a short list of changes."""

import json
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "agent.created": _("新建前置机"),
    "agent.token_reissued": _("重新签发前置机令牌"),
    "agent.online": _("前置机上线"),
    "agent.offline": _("前置机离线"),
    "client.created": _("新建客户"),
    "client.updated": _("修改客户"),
    "device.created": _("新建税控设备"),
    "device.updated": _("修改税控设备"),
    "device.present": _("设备在位"),
    "device.missing": _("设备不在位"),
    "device.move_requested": _("其他前置机报告了该设备，待批准迁移"),
    "device.move_approved": _("批准设备迁移到新前置机"),
    "device.health_bad": _("设备标记为故障"),
    "device.locked": _("设备报告已锁死"),
    "device.held": _("设备暂停"),
    "device.hold_released": _("解除设备暂停"),
    "channel.created": _("添加通知渠道"),
    "channel.removed": _("删除通知渠道"),
    "autopilot.changed": _("修改自动清卡设置"),
    "autopilot.client_excluded": _("客户不参与自动清卡"),
    "autopilot.client_included": _("客户重新参与自动清卡"),
    "job.requested": _("发起任务"),
    "job.started": _("任务开始执行"),
    "job.succeeded": _("任务成功"),
    "job.failed": _("任务失败"),
    "job.late_result_kept": _("迟到的结果已留作凭证"),
    "job.result_parked": _("前置机多次提交结果失败，已暂停重发"),
    "job.retry_scheduled": _("任务将自动重试"),
    "job.lease_expired": _("任务回报超时"),
    "job.cancelled": _("取消任务"),
    "job.retried": _("重试任务"),
    "period.summary_uploaded": _("抄报完成"),
    "period.cleared": _("清卡完成"),
    "period.locked": _("申报期锁死"),
    "period.return_filed": _("记录申报"),
    "batch.created": _("创建批量任务"),
    "share_link.created": _("创建状态分享链接"),
    "share_link.revoked": _("撤销状态分享链接"),
    "filing_deadline.changed": _("修改申报截止日"),
    "calendar_feed.created": _("生成日历订阅地址"),
    "calendar_feed.renewed": _("重新生成日历订阅地址"),
    "calendar_feed.revoked": _("停用日历订阅地址"),
}
SHORT = 60


def action_label(code: str) -> str:
    """The Chinese label, or the code itself when the site does not know it."""
    return ACTION_LABELS.get(code, code)


def short(value) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None: the field is only in `after`
    after: str | None  # None: the field is only in `before`


def changes(before, after) -> list[Change]:
    """The fields that differ, in the order they appear; a value that is not an object is one
    change of the field "" (the whole value)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        if before is None and after is None:
            return []
        if isinstance(before, dict) and after is None:
            return [Change(key, short(value), None) for key, value in before.items()]
        if isinstance(after, dict) and before is None:
            return [Change(key, None, short(value)) for key, value in after.items()]
        return [Change("", None if before is None else short(before), None if after is None else short(after))]
    result = []
    for key in [*before, *(key for key in after if key not in before)]:
        if key in before and key in after:
            if before[key] != after[key]:
                result.append(Change(key, short(before[key]), short(after[key])))
        elif key in before:
            result.append(Change(key, short(before[key]), None))
        else:
            result.append(Change(key, None, short(after[key])))
    return result


def full(value) -> str:
    """The whole JSON, for exports."""
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
