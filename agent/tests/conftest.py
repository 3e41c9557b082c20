import pytest
from agent_fakes import FakeSite


@pytest.fixture
def site():
    """The site's agent API, faked in a thread of this process."""
    site = FakeSite()
    yield site
    site.close()
