import os

# Before anything imports keras (used as a reference in some tests).
os.environ.setdefault("KERAS_BACKEND", "torch")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``cuda`` when no CUDA GPU is available."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="module")
def _fresh_compile_cache_per_module():
    """torch.compile caches compiled code per code object for the whole process (at most 8 versions
    each): every test module leaves the cache empty, so compile tests do not depend on test order."""
    yield
    torch._dynamo.reset()
