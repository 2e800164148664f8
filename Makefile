# Everything a developer or CI needs; each target installs what is missing first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck unit bench loadtest security semgrep screenshots deps sysdeps format clean

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(PY_STAMP)

# semgrep pins versions that clash with ours, so it lives in its own venv.
SEMGREP_VENV := .local/tools/semgrep
SEMGREP := $(SEMGREP_VENV)/bin/semgrep
SEMGREP_FLAGS := --metrics=off --disable-version-check
SEMGREP_STAMP := $(SEMGREP_VENV)/.installed

$(SEMGREP_STAMP): semgrep/requirements.txt
	$(PYTHON) -m venv $(SEMGREP_VENV)
	$(SEMGREP_VENV)/bin/python -m pip install --quiet -r semgrep/requirements.txt
	touch $(SEMGREP_STAMP)

# checkov (the templates' checks in make test) pins versions that clash with ours as well.
CHECKOV_VENV := .local/tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): infra/requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/requirements.txt
	touch $(CHECKOV_STAMP)

$(NODE_STAMP): package.json package-lock.json web/package.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# ffmpeg/ffprobe and nginx with the RTMP module (Debian packages) for media and live ingest,
# Chromium for the browser tests.
sysdeps:
	@devtools/system-deps.sh

deps: $(PY_STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) sysdeps

run: deps
	$(PY) -m devtools.run

lint: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	npm run --silent -w web lint
	npm run --silent -w web typecheck

typecheck: $(PY_STAMP)
	$(PY) -m mypy .

test: deps lint typecheck
	npm run --silent -w web test
	$(PY) -m pytest

bench: deps
	$(PY) -m bench

# 2,000 viewers and 10 moderators for 5 minutes on a stack of its own (loopback, free ports);
# exact counts after the queues drain. Shorter: make loadtest LOADTEST_ARGS="--viewers 200 --minutes 1"
loadtest: deps
	$(PY) -m loadtest $(LOADTEST_ARGS)

# Every participant page at 1280 px and 360 px, into docs/screenshots/ (a stack of its own).
screenshots: deps
	$(PY) -m tests.e2e.screenshots

# The security review: schema fuzzing, ruff's S rules, semgrep, isolation and hostile inputs.
security: deps $(SEMGREP_STAMP)
	$(PY) -m security

# The project's semgrep rules: their examples, then the repository.
semgrep: $(SEMGREP_STAMP)
	$(SEMGREP) --test $(SEMGREP_FLAGS) semgrep/
	$(SEMGREP) scan $(SEMGREP_FLAGS) --config semgrep/ --error --quiet .

format: $(PY_STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .local
