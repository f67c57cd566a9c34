"""The report stage: HTML and PDF per branch, a network league table and an index.

stage.py is the `crm report` edge (reading the inputs, the worker pool, writing files);
core.py holds the period's inputs and slices them by branch; the modules beside them
are the computation's seams: context* (numbers), figures/charts (matplotlib),
environment/i18n/catalogs (Jinja, filters, labels from the message catalogs),
render/pdf (what a worker does).
"""

from pipeline.report.core import BranchInputs, ReportInputs, branch_slice, branch_slices

__all__ = ["BranchInputs", "ReportInputs", "branch_slice", "branch_slices"]
