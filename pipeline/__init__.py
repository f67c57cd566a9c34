"""Retail-bank customer analytics: staged ETL, scores and branch reports."""

import os

__version__ = "0.1.0"

# scikit-learn's OpenMP threads (gradient boosting) spin while they wait by default; with
# any other work on the cores that spinning made churn fits 2-4x slower on two threads
# than on one. Passive waiting makes more threads never worse (measured at 1M customers
# on a loaded 2-core machine: 16 s on two threads against 20 s on one). It must be set
# before OpenMP starts, so here; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# Large allocations in small pages: NumPy advises transparent huge pages for every array
# of 4 MB or more, and Arrow's default allocator (mimalloc) for its arenas. Where a
# virtual machine hands freed memory back to its host (free page reporting, a balloon),
# each huge page faulted in is fresh host memory: about 17 ms per 2 MB on the
# development VM, which made reading a million customers' features 2.3-3.5x slower and a
# score run at a million customers 8-13% slower (docs/performance-history.md). A stage
# is a short-lived process that faults its arrays in once, where huge pages gain little.
# Both are read before the first array is allocated, so here; values the user set win.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
