import pytest

from apps.devices.errors import ERRORS, NEVER, RETRY, error_info
from apps.jobs.models import TRANSITIONS, IllegalTransition, Job, JobState
from tests.factories import make_device

S = JobState
LEGAL = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]  # one order in every process
ILLEGAL = [(a, b) for a in S for b in S if b not in TRANSITIONS[a]]


@pytest.fixture
def job(db):
    return Job.objects.create(kind="clear", device=make_device())


@pytest.mark.django_db
@pytest.mark.parametrize("start, to", LEGAL)
def test_legal_transitions_are_written(job, start, to):
    Job.objects.filter(pk=job.pk).update(state=start)
    job.refresh_from_db()
    assert job.move(to, error_code="X")
    job.refresh_from_db()
    assert (job.state, job.error_code) == (to, "X")


@pytest.mark.django_db
@pytest.mark.parametrize("start, to", ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(job, start, to):
    Job.objects.filter(pk=job.pk).update(state=start)
    job.refresh_from_db()
    with pytest.raises(IllegalTransition):
        job.move(to)
    job.refresh_from_db()
    assert job.state == start


@pytest.mark.django_db
def test_a_bulk_move_is_checked_like_one_and_moves_only_the_jobs_still_in_its_state(job):
    other = Job.objects.create(kind="clear", device=make_device(), state=S.RUNNING)
    jobs = Job.objects.filter(pk__in=[job.pk, other.pk])
    with pytest.raises(IllegalTransition):
        jobs.move(S.SCHEDULED, S.RUNNING)
    assert jobs.move(S.SCHEDULED, S.QUEUED, attempts=1) == 1
    assert dict(jobs.values_list("pk", "state")) == {job.pk: S.QUEUED, other.pk: S.RUNNING}


def test_terminal_states_and_the_cycle():
    assert TRANSITIONS[S.SUCCEEDED] == set() and TRANSITIONS[S.CANCELLED] == set()
    assert S.RUNNING not in TRANSITIONS[S.SCHEDULED]  # a job is always queued before it runs


@pytest.mark.django_db
def test_a_move_loses_to_a_concurrent_one(job):
    """Two processes hold the same queued job; only the first move is written."""
    job.move(S.QUEUED)
    other = Job.objects.get(pk=job.pk)
    assert job.move(S.RUNNING)
    assert not other.move(S.CANCELLED)
    assert Job.objects.get(pk=job.pk).state == S.RUNNING


def test_every_domain_error_has_message_remedy_and_retry_class():
    from qingka_agent.drivers.base import ERROR_CODES

    assert ERROR_CODES <= set(ERRORS), "the agent reports a code the site does not know"
    for info in ERRORS.values():
        assert info.message and info.remedy and info.retry in (RETRY, NEVER)
    assert error_info("CERT_PASSWORD_WRONG").retry == NEVER
    assert error_info("TRANSFER_FAILED").retry == RETRY and error_info("DEVICE_BUSY").retry == RETRY
    assert error_info("SOMETHING_NEW").retry == NEVER
