"""The process-wide settings `import pipeline` makes before the libraries read them
(pipeline/__init__.py): OpenMP threads wait passively, NumPy does not advise huge pages,
Arrow allocates with the C library's malloc; values the user set win. Each case runs in
a fresh interpreter: each is read once (OpenMP's start, NumPy's import, Arrow's first
allocation)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow
import pytest

PROBE = """
import json, os
import pipeline
import numpy
import pyarrow
try:
    from numpy._core import multiarray
except ImportError:  # NumPy 1.x
    from numpy.core import multiarray
print(json.dumps({
    "omp": os.environ.get("OMP_WAIT_POLICY"),
    "advise": os.environ.get("NUMPY_MADVISE_HUGEPAGE"),
    "numpy_advises": bool(multiarray._get_madvise_hugepage()),
    "arrow_pool": pyarrow.default_memory_pool().backend_name,
}))
"""


SETTINGS = ("OMP_WAIT_POLICY", "NUMPY_MADVISE_HUGEPAGE", "ARROW_DEFAULT_MEMORY_POOL")
# an allocator this build of Arrow has besides the C library's (mimalloc, jemalloc)
OTHER_POOL = next((b for b in pyarrow.supported_memory_backends() if b != "system"), None)


def _probe(**settings: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(settings)
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_the_package_sets_them_before_the_libraries_read_them():
    seen = _probe()
    assert seen == {"omp": "PASSIVE", "advise": "0", "numpy_advises": False, "arrow_pool": "system"}


@pytest.mark.skipif(OTHER_POOL is None, reason="this Arrow has no allocator but malloc")
def test_values_the_user_set_win():
    seen = _probe(
        OMP_WAIT_POLICY="ACTIVE", NUMPY_MADVISE_HUGEPAGE="1", ARROW_DEFAULT_MEMORY_POOL=OTHER_POOL
    )
    assert seen == {"omp": "ACTIVE", "advise": "1", "numpy_advises": True, "arrow_pool": OTHER_POOL}
