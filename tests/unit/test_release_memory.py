"""Memory freed by a chunk's model passes goes back to the operating system."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_freed_memory_goes_back_to_the_system_on_glibc() -> None:
    import platform

    from insight_core.nightly.memory import _malloc_trim, release_freed_memory

    trim = _malloc_trim()
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert trim is not None
        # malloc_trim returns 1 when memory was released, 0 when there was nothing to release.
        assert trim(0) in (0, 1)
    release_freed_memory()  # a no-op where there is no malloc_trim


def test_released_models_are_gone_and_load_again() -> None:
    import gc
    import weakref

    from insight_core import runtime
    from insight_core.nightly.memory import release_models
    from insight_core.settings import InsightSettings

    settings = InsightSettings(embedding_model="hashing-16")
    first = runtime.get_embedder(settings)
    assert runtime.get_embedder(settings) is first
    held = weakref.ref(first)
    del first
    release_models()
    gc.collect()
    assert held() is None  # nothing else kept the released model alive
    again = runtime.get_embedder(settings)
    assert again.embed(["a text"]).shape == (1, 16)
