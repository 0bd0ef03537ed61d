"""The HTTP client's libraries are all there: httpcore asks for sniffio on every request."""

import sys

from httpcore._synchronization import current_async_library


async def test_httpcore_finds_sniffio_in_the_module_cache() -> None:
    # httpcore runs `import sniffio` each time it sets up a request's events and shields;
    # without the package each of those imports searched every directory of sys.path (a
    # twentieth of the worker's CPU in a burst), with it the import is a dictionary lookup.
    assert current_async_library() == "asyncio"
    assert "sniffio" in sys.modules
