from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.core.months import add_months
from apps.filing_calendar.models import FilingDeadline

from .models import Period


@receiver(post_save, sender=FilingDeadline)
def follow_calendar(sender, instance, **kwargs):
    """A period keeps its deadline for fast lists; when the calendar changes, its periods follow."""
    Period.objects.filter(month=add_months(instance.month, -1)).exclude(deadline=instance.deadline).update(
        deadline=instance.deadline
    )
