# The two commands a newcomer runs: `make run` and `make test`. Both create .venv and install the
# pinned requirements first, so a machine with only Python 3.11 and make is enough.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALADO := $(VENV)/.instalado

.PHONY: run test bench bench-webhooks bench-sefaz bench-middleware migrate demo clean

$(INSTALADO): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Development: DEBUG, which also accepts the public development keys (outside DEBUG the settings refuse
# to start without SECRET_KEY and FIELD_ENCRYPTION_KEY); an explicit DEBUG in the environment wins.
DESENVOLVIMENTO := DEBUG=$${DEBUG:-true}

migrate: $(INSTALADO)
	$(DESENVOLVIMENTO) $(BIN)/python manage.py migrate --noinput

demo: migrate
	$(DESENVOLVIMENTO) $(BIN)/python manage.py carregar_demo

# Development only: DEBUG, and webhooks may go to receivers on this machine (INICIO_RAPIDO_INTEGRACOES.md).
# That allowance and the address go to var/dev.env, which the settings read under DEBUG only, so a
# command typed in another terminal (DEBUG=true manage.py importar_xml) delivers as the server does.
# The webhook worker runs beside the server and stops with it (Ctrl+C, or runserver exiting).
PORT ?= 8000
ENV_DE_DESENVOLVIMENTO := var/dev.env

run: demo
	@mkdir -p var
	@printf '%s\n' "# Written by make run on every start (development only; read by fiscal_app/settings.py with DEBUG=true)." \
		"WEBHOOK_ALLOW_PRIVATE_NETWORKS=$${WEBHOOK_ALLOW_PRIVATE_NETWORKS:-true}" \
		"FISCAL_URL_PUBLICA=$${FISCAL_URL_PUBLICA:-http://127.0.0.1:$(PORT)}" > $(ENV_DE_DESENVOLVIMENTO)
	@$(DESENVOLVIMENTO) $(BIN)/python manage.py webhook_worker --loop --intervalo 1 & trabalhador=$$!; \
	trap 'kill $$trabalhador 2>/dev/null; wait $$trabalhador 2>/dev/null' EXIT INT TERM; \
	echo "webhook_worker rodando (pid $$trabalhador); servidor em http://127.0.0.1:$(PORT)/"; \
	$(DESENVOLVIMENTO) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(INSTALADO)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(INSTALADO)
	$(BIN)/python bench/importacao.py

bench-webhooks: $(INSTALADO)
	$(BIN)/python bench/webhooks.py

bench-sefaz: $(INSTALADO)
	$(BIN)/python bench/sefaz.py

bench-middleware: $(INSTALADO)
	$(BIN)/python bench/middleware.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* var staticfiles
