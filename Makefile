# Two commands for a fresh clone:  `make run`  and  `make test`  (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := GUANJIA_ENV=development $(BIN)/flask --app wsgi

.PHONY: run test install translations lint seed clean-instance

$(BIN)/flask: pyproject.toml uv.lock
	$(PY) -m uv --version >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	$(PY) -m uv sync --frozen --extra dev --python $(PY)
	touch $(BIN)/flask

install: $(BIN)/flask translations

translations: $(BIN)/flask
	$(BIN)/pybabel compile -d translations --use-fuzzy -f >/dev/null

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) run --host 127.0.0.1 --port 5000

# In parallel (pytest-xdist; each worker gets its own database, see tests/conftest.py), at most 4 workers.
PYTEST_ARGS ?= -n auto --maxprocesses=4

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check saas tenants tests scripts migrations bench

# Re-extract strings after changing templates or code; then translate the new entries in zh_CN.
extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
