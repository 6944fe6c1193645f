"""The production deployment of README.md ("Implantação em produção") and deploy/, run for real.

The documented start, step by step, as subprocesses with the production settings: `migrate`,
`collectstatic`, `criar_organizacao`, then `gunicorn -c deploy/gunicorn.conf.py fiscal_app.wsgi` on a
free loopback port, answering /saude/, the admin's CSS and an authenticated API call. SQLite in a
temporary folder stands in for PostgreSQL (the .ci/run pass covers PostgreSQL for everything else).
"""

import configparser
import importlib.util
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.tarefas import TAREFAS
from tests.test_settings import todas_as_variaveis
from tests.webhooks.receptor import porta_livre

RAIZ = Path(__file__).resolve().parent.parent
DEPLOY = RAIZ / "deploy"
README = (RAIZ / "README.md").read_text(encoding="utf-8")
COMANDO_GUNICORN = "gunicorn -c deploy/gunicorn.conf.py fiscal_app.wsgi"
ESPERA_PELO_GUNICORN = 30  # seconds; it is usually ready in 2-3
SEM_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, whatever http_proxy says


def secao(titulo: str) -> str:
    trecho = re.search(rf"^## {re.escape(titulo)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert trecho, f"README.md perdeu a seção {titulo!r}"
    return trecho.group(1)


def ambiente_de_producao(pasta: Path) -> dict:
    """The process environment of a production machine: nothing inherited that settings would read."""
    limpo = {k: v for k, v in os.environ.items() if k not in todas_as_variaveis()}
    return {
        **limpo,
        "DJANGO_SETTINGS_MODULE": "fiscal_app.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{pasta / 'fiscal.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "STATIC_ROOT": str(pasta / "staticfiles"),
        "EMAIL_FILE_PATH": str(pasta / "emails"),
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    }


def manage(ambiente: dict, *argumentos: str) -> str:
    execucao = subprocess.run([sys.executable, "manage.py", *argumentos], cwd=RAIZ, env=ambiente,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert execucao.returncode == 0, f"manage.py {' '.join(argumentos)}:\n{execucao.stderr}"
    return execucao.stdout


def pedir(url: str, **cabecalhos) -> tuple[int, dict, bytes]:
    try:
        with SEM_PROXY.open(urllib.request.Request(url, headers=cabecalhos), timeout=10) as resposta:
            return resposta.status, dict(resposta.headers), resposta.read()
    except urllib.error.HTTPError as erro:
        return erro.code, dict(erro.headers), erro.read()


class Gunicorn:
    """`.venv/bin/gunicorn -c deploy/gunicorn.conf.py fiscal_app.wsgi`, as deploy/fiscal-web.service runs it."""

    def __init__(self, ambiente: dict, pasta: Path):
        self.ambiente, self.pasta, self.processo = ambiente, pasta, None

    def iniciar(self) -> None:
        for _ in range(3):  # a port taken between picking it and binding it: try another
            self.url = f"http://127.0.0.1:{porta_livre()}"
            self.saida, self.erros = self.pasta / "acesso.log", self.pasta / "gunicorn.log"
            self.processo = subprocess.Popen(
                [*self._executavel(), "-c", "deploy/gunicorn.conf.py", "fiscal_app.wsgi"], cwd=RAIZ,
                env={**self.ambiente, "GUNICORN_BIND": self.url.removeprefix("http://")},
                stdout=self.saida.open("wb"), stderr=self.erros.open("wb"), start_new_session=True,
            )  # fmt: skip
            if self._esperar_ficar_pronto():
                return
            log = self.erros.read_text(errors="replace")
            if "Address already in use" not in log and "Connection in use" not in log:
                pytest.fail(f"o gunicorn não subiu:\n{log}")
        pytest.skip(f"o gunicorn não conseguiu abrir uma porta local:\n{log}")

    @staticmethod
    def _executavel() -> list[str]:
        script = Path(sys.executable).with_name("gunicorn")
        return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]

    def _esperar_ficar_pronto(self) -> bool:
        prazo = time.monotonic() + ESPERA_PELO_GUNICORN
        while time.monotonic() < prazo and self.processo.poll() is None:
            try:
                SEM_PROXY.open(self.url + "/saude/", timeout=2).close()
                return True
            except urllib.error.HTTPError:
                return True  # it answers: the test says whether the answer is right
            except OSError:
                time.sleep(0.2)
        self.parar()
        return False

    def parar(self) -> int | None:
        """SIGTERM, as systemd stops it; the whole process group is killed if it is still there after 15 s."""
        if self.processo is None or self.processo.poll() is not None:
            return None if self.processo is None else self.processo.returncode
        self.processo.send_signal(signal.SIGTERM)
        try:
            return self.processo.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.processo.pid, signal.SIGKILL)
            self.processo.wait()
            return None


@pytest.fixture
def gunicorn(tmp_path):
    if importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn não está instalado (requirements.txt)")
    servidor = Gunicorn(ambiente_de_producao(tmp_path), tmp_path)
    yield servidor
    servidor.parar()


def test_the_documented_production_start_serves_health_static_files_and_the_api(gunicorn, tmp_path):
    # given: the steps of README's "Implantação em produção", with the production settings
    ambiente = gunicorn.ambiente
    manage(ambiente, "migrate", "--noinput")
    assert "static files copied" in manage(ambiente, "collectstatic", "--noinput")
    criada = manage(ambiente, "criar_organizacao", "Implantação Teste", "--usuario", "ops@exemplo.com.br")
    token = criada.splitlines()[-1]

    # when
    gunicorn.iniciar()

    # then: the load balancer's health check
    estado, cabecalhos, corpo = pedir(gunicorn.url + "/saude/")
    assert (estado, json.loads(corpo)) == (200, {"status": "ok", "banco": "ok", "cache": "ok"})
    # the admin's CSS and the Swagger UI's, compressed at collectstatic, served by the app itself
    estado, cabecalhos, corpo = pedir(gunicorn.url + "/static/admin/css/base.css", **{"Accept-Encoding": "gzip"})
    assert estado == 200 and cabecalhos["Content-Type"].startswith("text/css")
    assert cabecalhos.get("Content-Encoding") == "gzip"
    estado, cabecalhos, _ = pedir(gunicorn.url + "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css")
    assert estado == 200 and cabecalhos["Content-Type"].startswith("text/css")
    # the API, with the token criar_organizacao printed last, and without it
    estado, _, corpo = pedir(gunicorn.url + "/api/dashboard/", Authorization=f"Token {token}")
    assert estado == 200 and "hoje" in json.loads(corpo)
    assert pedir(gunicorn.url + "/api/dashboard/")[0] == 401
    # DEBUG is off: a missing page is a plain 404, not Django's debug page
    estado, _, corpo = pedir(gunicorn.url + "/nao-existe/")
    assert estado == 404 and b"URLconf" not in corpo
    # SIGTERM (systemctl stop) ends it cleanly, and the access log went to stdout
    assert gunicorn.parar() == 0
    acesso = gunicorn.saida.read_text()
    assert '"GET /saude/ HTTP/1.1" 200' in acesso and '"GET /api/dashboard/ HTTP/1.1" 200' in acesso


def test_the_readme_production_env_block_is_a_valid_configuration(tmp_path):
    """The `.env` of step 3 names only real variables, all the required ones, and passes `check --deploy`
    with no warning once its two placeholder keys are replaced by generated ones, as it says."""
    bloco = re.search(r"```ini\n(.*?)```", secao("Implantação em produção"), re.S).group(1)
    valores = dict(linha.split("=", 1) for linha in bloco.splitlines() if linha and not linha.startswith("#"))
    obrigatorias = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CACHE_URL", "FIELD_ENCRYPTION_KEY",
                    "FISCAL_URL_PUBLICA", "EMAIL_BACKEND", "EMAIL_HOST", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}  # fmt: skip
    assert obrigatorias <= valores.keys()
    assert sorted(valores.keys() - todas_as_variaveis()) == []
    assert valores["DEBUG"] == "false"
    assert valores["DATABASE_URL"].startswith("postgres://") and valores["CACHE_URL"].startswith("redis://")
    ambiente = {**ambiente_de_producao(tmp_path), **valores}

    # as written, the placeholders are refused: nobody starts production on a key published here
    execucao = subprocess.run([sys.executable, "manage.py", "check"], cwd=RAIZ, env=ambiente, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
    assert execucao.returncode != 0 and "SECRET_KEY" in execucao.stderr

    # with the generated keys, Django's deployment checks and fiscal's find nothing (no database connection)
    ambiente.update(SECRET_KEY=secrets.token_urlsafe(50), FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode())
    assert manage(ambiente, "check", "--deploy").strip() == "System check identified no issues (0 silenced)."


@pytest.mark.parametrize("documento", ["README.md", "INTEGRACOES.md"])
def test_the_crontab_file_is_the_docs_cron_block(documento):
    [bloco] = re.findall(r"^```cron\n(.*?)^```", (RAIZ / documento).read_text(encoding="utf-8"), re.S | re.M)

    assert (DEPLOY / "crontab").read_text() == bloco


def test_the_crontab_runs_every_task_once_at_its_suggested_time():
    linhas = [linha for linha in (DEPLOY / "crontab").read_text().splitlines() if linha.strip()]
    for linha in linhas:
        campos = linha.split()
        assert len(campos) > 5 and " ".join(campos[5:9]) == "cd /srv/fiscal && .venv/bin/python", linha

    tarefas = {re.search(r"--task=(\w+)$", linha).group(1): " ".join(linha.split()[:5]) for linha in linhas}
    assert tarefas == {tarefa.nome: tarefa.cron for tarefa in TAREFAS.values()}


def _unidade(nome: str) -> configparser.SectionProxy:
    unidade = configparser.ConfigParser(interpolation=None, strict=False)
    unidade.optionxform = str  # systemd keys are case-sensitive
    unidade.read(DEPLOY / nome)
    return unidade["Service"]


def test_the_web_unit_runs_the_tested_gunicorn_command_from_the_project_folder():
    servico = _unidade("fiscal-web.service")

    assert servico["ExecStart"] == f"/srv/fiscal/.venv/bin/{COMANDO_GUNICORN}"
    assert servico["WorkingDirectory"] == "/srv/fiscal"
    assert servico["Type"] == "notify"  # gunicorn tells systemd when it is ready
    assert COMANDO_GUNICORN in secao("Implantação em produção")


def test_the_worker_unit_runs_the_continuous_webhook_worker():
    from core.management.commands.webhook_worker import Command

    servico = _unidade("fiscal-webhooks.service")
    executavel, script, comando, *argumentos = servico["ExecStart"].split()

    assert (executavel, script, comando) == ("/srv/fiscal/.venv/bin/python", "manage.py", "webhook_worker")
    assert argumentos == ["--loop", "--threads", "4"]
    opcoes = Command().create_parser("manage.py", "webhook_worker").parse_args(argumentos)
    assert (opcoes.loop, opcoes.threads) == (True, 4)
    assert servico["WorkingDirectory"] == "/srv/fiscal"
    assert servico["Restart"] == "always"
    assert "webhook_worker --loop --threads 4" in secao("Implantação em produção")
