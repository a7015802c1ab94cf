# auditreg — the two commands: `make demo` (embedded default) and `make test` (whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_ENV := DEBUG=1

.PHONY: demo install install-mlflow lint test test-sqlite test-postgres bench bench-append bench-registry bench-replay bench-ingest bench-provenance bench-reports bench-portal clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server,dev]'
	touch $@

# The MLflow importer's tests log runs with PyTorch, as our users do. torch is pinned to the
# CPU build first: left to itself, pip would pick a multi-gigabyte CUDA build.
$(VENV)/.installed-mlflow: $(VENV)/.installed
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[server,dev,mlflow]'
	touch $@

# The portal bench's load tool (locust), in its own extra: nothing else needs it.
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[server,dev,bench]'
	touch $@

install: $(VENV)/.installed

install-mlflow: $(VENV)/.installed-mlflow

## demo: set up the embedded default (SQLite, file-system broker), run the main job, then
## serve the portal on http://127.0.0.1:8000 with a worker beside it (Ctrl-C stops both).
demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py init_keys
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo
	$(DEMO_ENV) $(BIN)/python manage.py checkpoint
	$(DEMO_ENV) $(BIN)/python manage.py verify_ledger
	$(DEMO_ENV) $(BIN)/python manage.py replay_ledger --check
	$(DEMO_ENV) $(BIN)/python manage.py as_of --use-case us-retail-credit-pd
	$(DEMO_ENV) $(BIN)/python manage.py lineage --upstream model:credit-pd/2
	$(DEMO_ENV) $(BIN)/python manage.py lineage --downstream dataset:bureau-tradelines@2026-06-30
	$(DEMO_ENV) $(BIN)/python manage.py init_signing_cert
	$(DEMO_ENV) $(BIN)/python manage.py issue_report --now --kind model-risk \
		--subject model:credit-pd/2 --out var/reports-out/credit-pd-2-model-risk.pdf
	$(DEMO_ENV) $(BIN)/python manage.py issue_report --now --kind clinical \
		--subject model:stroke-lvo/2 --use-case lvo-triage-cta-adults \
		--out var/reports-out/stroke-lvo-2-clinical.pdf
	$(DEMO_ENV) $(BIN)/python manage.py verify_report var/reports-out/credit-pd-2-model-risk.pdf
	$(DEMO_ENV) $(BIN)/python manage.py verify_report var/reports-out/stroke-lvo-2-clinical.pdf
	@echo "signed reports: var/reports-out/credit-pd-2-model-risk.pdf, var/reports-out/stroke-lvo-2-clinical.pdf"
	$(DEMO_ENV) $(BIN)/python manage.py serve_portal --addr 127.0.0.1:8000

lint: install-mlflow
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy auditreg lineage reports portal tests bench
	$(BIN)/lint-imports

## test: lint and type-check, then the whole suite on SQLite and on PostgreSQL + Redis.
test: lint test-sqlite test-postgres

test-sqlite: install-mlflow
	env -u DATABASE_URL $(BIN)/python -m pytest -q

test-postgres: install-mlflow
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest -q --create-db

## bench: every benchmark on PostgreSQL, one after the other (they share the scratch
## database; see docs/benchmarks.md). bench-registry: the registry's alone.
bench: install-mlflow $(VENV)/.installed-bench
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.ledger
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.append
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.registry
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.replay
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.ingest
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.provenance
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.reports
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.portal

bench-registry: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.registry

## bench-append: appends by 1 and 8 writers against plain inserts into a copy of the ledger's
## table (its own database). bench-replay: replay_ledger --check against reading the same
## entries, on a registry it builds once and keeps (`python -m bench.replay --drop` removes it).
bench-append: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.append

bench-replay: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.replay

## bench-ingest: versions over HTTP (gunicorn) against an MLflow tracking server on the same
## PostgreSQL. bench-provenance: upstream, downstream and diff in a 100,000-node graph.
## Every bench uses one scratch database: run them one after the other.
bench-ingest: install-mlflow
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.ingest

bench-provenance: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.provenance

## bench-reports: one signed report against a bare WeasyPrint render of its HTML, and
## reports per minute from 2 and 1 Celery workers (Redis at 127.0.0.1:6379, broker db 13).
bench-reports: install
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.reports

## bench-portal: the reviewer portal under 20 concurrent users (locust, gunicorn) on 10,000
## models, 100,000 versions and 1,000,000 ledger entries, with SQL queries per page. Its
## databases are kept and reused; `python -m bench.portal --drop` removes them.
bench-portal: $(VENV)/.installed-bench
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m bench.portal

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
