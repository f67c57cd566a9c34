# Retail-bank customer analytics. `make` lists the targets.
# Stages are real file targets: a stage reruns exactly when what it reads changed -- its
# upstream outputs, or its stamp (<data>/stamps/<stage>.json: the config keys it reads,
# its source config and survey definitions, its code, the report's templates and, for
# ingest, the raw exports), which `crm stamp` rewrites only when one of those changed.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.DELETE_ON_ERROR:
.SECONDEXPANSION:
# Files built along a chain of pattern rules (stamps, an earlier stage's outputs) are
# outputs like any other: never deleted as intermediates.
.SECONDARY:

PYTHON    ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
DATA      ?= data
REPORTS   ?= reports
CONFIG    ?=
# Extra crm options, e.g. CRM_FLAGS=-v (debug messages), -q, or --log-file logs/crm.log
CRM_FLAGS ?=
# Optional extras installed by `make setup`: dev tools; EXTRAS=dev,spark adds the Spark
# engine (PySpark, about 500 MB; CI installs it to test that engine).
EXTRAS    ?= dev
# `make test`'s worker processes: one per core, at most 4 (the slowest test files bound
# the run beyond that; each worker holds its own libraries); TEST_WORKERS=1 runs one.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(min(4, os.cpu_count() or 1))')
CRM        = $(BIN)/crm $(CRM_FLAGS) --data-dir $(DATA) --report-dir $(REPORTS) $(if $(CONFIG),--config $(CONFIG))
# The month to run: PERIOD=YYYY-MM, else the config's, else the latest complete month ingested.
# Worked out once, on first use (it asks crm), so `make help` or `make setup` never pay for it.
ifeq ($(origin PERIOD), undefined)
PERIOD = $(eval PERIOD := $(shell $(CRM) period 2>/dev/null))$(PERIOD)
endif
# The configured source: the sample bank is generated only when it is `sample`.
ifeq ($(origin SOURCE), undefined)
SOURCE = $(eval SOURCE := $(shell $(CRM) config source 2>/dev/null))$(SOURCE)
endif
# The reports' language: LOCALE=en, zh_CN or any locale (words from reports/locales/), else
# the config's; several (LOCALE="en zh_CN") are rendered by one crm run. Each has its own
# folder, build/<period>/<locale>/, so switching language builds the other folder.
ifeq ($(origin LOCALE), undefined)
LOCALE = $(eval LOCALE := $(shell $(CRM) locale 2>/dev/null))$(LOCALE)
endif
DEMO_MONTHS  := 3
DEMO_LOCALES := en zh_CN

SETUP_STAMP  := $(VENV)/.installed
STAMPS       := $(DATA)/stamps
SAMPLE_STAMP := $(DATA)/raw/sample_ground_truth/params.json
INGEST_DONE  := $(STAMPS)/ingest.done
MANIFEST     := $(DATA)/interim/manifest.json
PROCESSED     = $(DATA)/processed/$(PERIOD)
FEATURES      = $(PROCESSED)/customer_features.parquet
SCORES        = $(PROCESSED)/customer_scores.parquet
SURVEY        = $(PROCESSED)/survey_summary.json
REPORT_INDEX  = $(foreach l,$(LOCALE),$(REPORTS)/build/$(PERIOD)/$l/index.html)

.PHONY: help setup demo test lint sample ingest features score survey report monthly bench clean distclean check-period stamps FORCE

help: ## Show this help
	@if [ -t 1 ] && [ -z "$${NO_COLOR:-}" ]; then on=$$'\033[36m'; off=$$'\033[0m'; else on=; off=; fi; \
	echo "Retail-bank customer analytics. Targets:"; \
	grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "}; {printf "  %s%-10s%s %s\n", on, $$1, off, $$2}'; \
	echo "Variables: PERIOD=YYYY-MM  LOCALE=en|zh_CN|...  DATA=$(DATA)  REPORTS=$(REPORTS)  CONFIG=<user.yml>  CRM_FLAGS=-v|-q  EXTRAS=$(EXTRAS)  TEST_WORKERS=$(TEST_WORKERS)"

setup: $(SETUP_STAMP) ## Create .venv and install the project (idempotent)

$(SETUP_STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@bash scripts/install_system_packages.sh
	@touch $@

# One make run for the whole demo: the stamps (and the source) are worked out once. Its
# months are IN_ORDER (below); two stages run side by side where that order allows, a
# month's features or survey beside another month's scores, each command's output shown
# whole when it ends (GNU make 4; make 3.81, as macOS ships it, interleaves lines).
OUTPUT_SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=line)
demo: setup ## Generate the sample bank, run its last 3 months in order, report the latest in en and zh_CN
	@months="$$($(CRM) period --last $(DEMO_MONTHS))" && last="$${months##* }" && \
	$(MAKE) --no-print-directory -j2 $(OUTPUT_SYNC) SOURCE='$(subst ','\'',$(SOURCE))' \
	  IN_ORDER="$$months" \
	  $$(for p in $$months; do echo $(DATA)/processed/$$p/survey_summary.json; done) \
	  LOCALE='$(DEMO_LOCALES)' $$(for l in $(DEMO_LOCALES); do echo $(REPORTS)/build/$$last/$$l/index.html; done) && \
	echo "Reports: $(abspath $(REPORTS))/build/$$last/index.html"

# A test file stays in one worker, so its module fixtures (a bank run through every
# stage) are built once.
test: setup ## Run the test suite
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: setup ## Check style with ruff
	$(BIN)/ruff check pipeline tests benchmarks scripts setup.py

# --- stamps ------------------------------------------------------------------------------
# Refreshed once per make run; a stamp's file changes only when its stage's inputs did,
# and make looks at the file's time again after the (empty) recipe of each stamp.
# One crm call for the stamps of the stages that read nothing make builds ...
STAGE_STAMPS := $(foreach stage,sample features score survey report,$(STAMPS)/$(stage).json)
$(STAGE_STAMPS): stamps ;
stamps: | $(SETUP_STAMP)
	@$(CRM) stamp sample features score survey report
# ... and ingest's once the sample bank (when it is the source) is in place.
$(STAMPS)/ingest.json: FORCE $$(if $$(filter sample,$$(SOURCE)),$(SAMPLE_STAMP)) | $(SETUP_STAMP)
	@$(CRM) stamp ingest
FORCE:

# --- stages ------------------------------------------------------------------------------
# IN_ORDER="2026-08 2026-09 ...": months this make run builds oldest first (`make demo`
# passes its months). A month's features come after the month before's (its KPI history
# reads them), its scores after the month before's (drift, migration and the closed loop
# on last month's lists read them); with -j, other stages of different months run side
# by side (crm lets stages of different months share a data root).
IN_ORDER ?=
define newline


endef
after_previous = $(if $(word 2,$1),$(DATA)/processed/$(word 2,$1)/$2: $(DATA)/processed/$(firstword $1)/$2$(newline)$(call after_previous,$(wordlist 2,$(words $1),$1),$2))
$(eval $(call after_previous,$(IN_ORDER),customer_features.parquet))
$(eval $(call after_previous,$(IN_ORDER),customer_scores.parquet))

check-period: setup
	@[ -n "$(PERIOD)" ] || { echo "no period: pass PERIOD=YYYY-MM"; exit 2; }

sample: setup ## Generate the sample bank's raw exports and ground truth
	@$(MAKE) --no-print-directory $(SAMPLE_STAMP)
$(SAMPLE_STAMP): $(STAMPS)/sample.json
	$(CRM) sample

ingest: setup ## Load raw exports into validated canonical tables
	@$(MAKE) --no-print-directory $(MANIFEST)
# crm ingest runs when its stamp changed (or nothing was ingested yet); the manifest is
# rewritten only when ingest found something new, and only then do later stages rerun.
$(MANIFEST): $(INGEST_DONE) ;
$(INGEST_DONE): $(STAMPS)/ingest.json $(if $(wildcard $(MANIFEST)),,FORCE)
	$(CRM) ingest
	@touch $@

features: check-period ## Customer features, RFM, tiers and branch KPIs for PERIOD
	@$(MAKE) --no-print-directory $(FEATURES) PERIOD=$(PERIOD)
$(DATA)/processed/%/customer_features.parquet: $(MANIFEST) $(STAMPS)/features.json
	$(CRM) features --period $*

score: check-period ## CLV, churn scores and watchlists for PERIOD
	@$(MAKE) --no-print-directory $(SCORES) PERIOD=$(PERIOD)
$(DATA)/processed/%/customer_scores.parquet: $(DATA)/processed/%/customer_features.parquet $(STAMPS)/score.json
	$(CRM) score --period $*

survey: check-period ## Questionnaire analytics for PERIOD
	@$(MAKE) --no-print-directory $(SURVEY) PERIOD=$(PERIOD)
$(DATA)/processed/%/survey_summary.json: $(DATA)/processed/%/customer_scores.parquet $(STAMPS)/survey.json
	$(CRM) survey --period $*

report: check-period ## HTML and PDF reports per branch, network report and index for PERIOD in LOCALE
	@$(MAKE) --no-print-directory $(REPORT_INDEX) PERIOD=$(PERIOD) LOCALE='$(LOCALE)'
# What a period's reports read: its scores and survey outputs, and the report's stamp.
report_inputs = $(DATA)/processed/$(1)/customer_scores.parquet $(DATA)/processed/$(1)/survey_summary.json $(STAMPS)/report.json
report_period = $(firstword $(subst /, ,$(1)))
report_locale = $(lastword $(subst /, ,$(1)))
# Several locales given (LOCALE="en zh_CN" on the command line, as `make report` and
# `make demo` pass it): one rule makes all their indexes in one crm run, which reads the
# inputs once and renders every locale with one pool of workers. Its stem is the period.
ifneq ($(word 2,$(if $(filter command line,$(origin LOCALE)),$(LOCALE))),)
$(foreach l,$(LOCALE),$(REPORTS)/build/%/$l/index.html): $(call report_inputs,%)
	$(CRM) report --period $* $(foreach l,$(LOCALE),--locale $l)
endif
# One locale: the stem is <period>/<locale>.
$(REPORTS)/build/%/index.html: $$(call report_inputs,$$(call report_period,$$*))
	$(CRM) report --period $(call report_period,$*) --locale $(call report_locale,$*)

# LOCALE given (LOCALE="en zh_CN" on the command line or in the environment): the run's
# reports in each; else in the config's locale.
monthly: check-period ## Scheduled run of every stage for PERIOD=YYYY-MM (reports in LOCALE)
	$(CRM) run --period $(PERIOD) $(if $(filter command line environment,$(origin LOCALE)),$(foreach l,$(LOCALE),--locale $l))

bench: setup ## Benchmark the stages at scale (writes benchmarks/results/)
	$(BIN)/python benchmarks/run.py

# Everything the pipeline wrote under the two roots; a bank's own exports in raw/ stay.
clean: ## Remove generated data and reports (keeps .venv and a bank's own exports)
	rm -rf $(DATA)/raw/sample $(DATA)/raw/sample_ground_truth $(DATA)/interim/* $(DATA)/processed/* \
	  $(DATA)/stamps $(DATA)/runs $(DATA)/.crm.lock $(DATA)/.crm.lock.owner $(DATA)/.crm.locks \
	  $(REPORTS)/build $(REPORTS)/.crm-owner.json

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV) *.egg-info
