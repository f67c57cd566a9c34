# Retail-bank customer analytics. `make` lists the targets.
# Stages are real file targets: an up-to-date stage is not re-run.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.DELETE_ON_ERROR:

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
DATA     ?= data
REPORTS  ?= reports
CONFIG   ?=
# Optional extras installed by `make setup`: dev tools, and Spark so its engine is tested.
EXTRAS   ?= dev,spark
CRM       = $(BIN)/crm --data-dir $(DATA) --report-dir $(REPORTS) $(if $(CONFIG),--config $(CONFIG))
# The month to run: PERIOD=YYYY-MM, else the config's, else the latest complete month ingested.
# Worked out once, on first use (it asks crm), so `make help` or `make setup` never pay for it.
ifeq ($(origin PERIOD), undefined)
PERIOD = $(eval PERIOD := $(shell $(CRM) period 2>/dev/null))$(PERIOD)
endif
# The reports' language: LOCALE=en|zh_CN, else the config's. Each has its own folder,
# build/<period>/<locale>/, so switching language builds the other folder.
ifeq ($(origin LOCALE), undefined)
LOCALE = $(eval LOCALE := $(shell $(CRM) locale 2>/dev/null))$(LOCALE)
endif
DEMO_MONTHS  := 3
DEMO_LOCALES := en zh_CN

SETUP_STAMP  := $(VENV)/.installed
SAMPLE_STAMP := $(DATA)/raw/sample_ground_truth/params.json
MANIFEST     := $(DATA)/interim/manifest.json
PROCESSED     = $(DATA)/processed/$(PERIOD)
FEATURES      = $(PROCESSED)/customer_features.parquet
SCORES        = $(PROCESSED)/customer_scores.parquet
SURVEY        = $(PROCESSED)/survey_summary.json
REPORT_INDEX  = $(REPORTS)/build/$(PERIOD)/$(LOCALE)/index.html
CODE         := $(shell find pipeline -name '*.py' 2>/dev/null) $(wildcard configs/*.yml configs/*/*.yml)

.PHONY: help setup demo test lint sample ingest features score survey report monthly bench clean distclean check-period

help: ## Show this help
	@echo "Retail-bank customer analytics. Targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'
	@echo "Variables: PERIOD=YYYY-MM  LOCALE=en|zh_CN  DATA=$(DATA)  REPORTS=$(REPORTS)  CONFIG=<user.yml>"

setup: $(SETUP_STAMP) ## Create .venv and install the project (idempotent)

$(SETUP_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	@bash scripts/install_system_packages.sh
	@touch $@

demo: setup ## Generate the sample bank, run its last 3 months in order, report the latest in en and zh_CN
	@for p in $$($(CRM) period --last $(DEMO_MONTHS)); do \
	  $(MAKE) --no-print-directory survey PERIOD=$$p || exit 1; done
	@for l in $(DEMO_LOCALES); do $(MAKE) --no-print-directory report LOCALE=$$l || exit 1; done
	@echo "Reports: $(abspath $(REPORTS))/build/$$($(CRM) period)/index.html"

test: setup ## Run the test suite
	$(BIN)/python -m pytest

lint: setup ## Check style with ruff
	$(BIN)/ruff check pipeline tests benchmarks

sample: $(SAMPLE_STAMP) ## Generate the sample bank's raw exports and ground truth
$(SAMPLE_STAMP): $(SETUP_STAMP) $(wildcard pipeline/sample/*.py) configs/default.yml
	$(CRM) sample

ingest: $(MANIFEST) ## Load raw exports into validated canonical tables
$(MANIFEST): $(SAMPLE_STAMP) $(CODE)
	$(CRM) ingest

check-period:
	@[ -n "$(PERIOD)" ] || { echo "no period: pass PERIOD=YYYY-MM"; exit 2; }

features: check-period $(MANIFEST) ## Customer features, RFM, tiers and branch KPIs for PERIOD
	@$(MAKE) --no-print-directory $(FEATURES) PERIOD=$(PERIOD)
$(DATA)/processed/%/customer_features.parquet: $(MANIFEST)
	$(CRM) features --period $*

score: features ## CLV, churn scores and watchlists for PERIOD
	@$(MAKE) --no-print-directory $(SCORES) PERIOD=$(PERIOD)
$(DATA)/processed/%/customer_scores.parquet: $(DATA)/processed/%/customer_features.parquet
	$(CRM) score --period $*

survey: score ## Questionnaire analytics for PERIOD
	@$(MAKE) --no-print-directory $(SURVEY) PERIOD=$(PERIOD)
$(DATA)/processed/%/survey_summary.json: $(DATA)/processed/%/customer_scores.parquet
	$(CRM) survey --period $*

report: survey ## HTML and PDF reports per branch, network report and index for PERIOD in LOCALE
	@$(MAKE) --no-print-directory $(REPORT_INDEX) PERIOD=$(PERIOD) LOCALE=$(LOCALE)
# The stem is <period>/<locale>: the period's outputs are the prerequisites.
report_period = $(firstword $(subst /, ,$(1)))
report_locale = $(lastword $(subst /, ,$(1)))
.SECONDEXPANSION:
$(REPORTS)/build/%/index.html: $(DATA)/processed/$$(call report_period,$$*)/customer_scores.parquet $(DATA)/processed/$$(call report_period,$$*)/survey_summary.json
	$(CRM) report --period $(call report_period,$*) --locale $(call report_locale,$*)

monthly: setup check-period ## Scheduled run of every stage for PERIOD=YYYY-MM
	$(CRM) run --period $(PERIOD)

bench: setup ## Benchmark the stages at scale (writes benchmarks/results/)
	$(BIN)/python benchmarks/run.py

clean: ## Remove generated data and reports (keeps .venv)
	rm -rf $(DATA)/raw/sample $(DATA)/raw/sample_ground_truth $(DATA)/interim/* $(DATA)/processed/* $(REPORTS)/build

distclean: clean ## Also remove the virtual environment
	rm -rf $(VENV) *.egg-info
