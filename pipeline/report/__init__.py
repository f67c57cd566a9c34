"""The report stage: HTML and PDF per branch, a network league table and an index.

`run_report(cfg, catalog, period)` is the stage; the modules beneath are its seams:
inputs (files -> per-branch slices), context* (numbers), figures/charts (matplotlib),
environment/i18n (Jinja, filters, labels), render/pdf (processes, WeasyPrint).
"""

from pipeline.report.run import run_report

__all__ = ["run_report"]
