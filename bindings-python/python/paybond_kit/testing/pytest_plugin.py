"""pytest fixtures for apps that use Paybond Kit (registered as a ``pytest11`` plugin).

- ``local_harbor``: a :class:`~paybond_kit.testing.LocalHarbor` per test.
- ``paybond_session``: an open :class:`~paybond_kit.ServiceAccountHarborSession` on it.
"""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import pytest

from ..client import ServiceAccountHarborSession
from . import LocalHarbor


@pytest.fixture
def local_harbor() -> Iterator[LocalHarbor]:
    """A dev server in-process on port 0, stopped after the test."""
    with LocalHarbor() as h:
        yield h


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the async fixture needs pytest-asyncio
    pass
else:

    @pytest_asyncio.fixture
    async def paybond_session(local_harbor: LocalHarbor) -> AsyncIterator[ServiceAccountHarborSession]:
        """A session on ``local_harbor``'s seeded tenant, closed after the test."""
        async with await ServiceAccountHarborSession.open(
            gateway_base_url=local_harbor.gateway_url,
            api_key=local_harbor.api_key,
            harbor_base_url=local_harbor.harbor_url,
        ) as s:
            yield s
