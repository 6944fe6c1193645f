"""`make run` (issue 15, point 3, "the first hour"): a port of your choice, a webhook worker beside the
server, and a development var/dev.env that makes a command typed in another terminal deliver to local
receivers as the server does. Production never reads that file.

Each test works in a scratch copy of the repository: fiscal_app/ and manage.py copied (so the settings'
BASE_DIR, hence var/ and db.sqlite3, are the scratch folder's), everything else linked, the existing
.venv included (its install stamp is current, so make installs nothing).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from core.demo import DEMO_SLUG
from tests.test_implantacao import ambiente_de_producao
from tests.test_settings import todas_as_variaveis
from tests.webhooks.receptor import Receptor, esperar, porta_livre

RAIZ = Path(__file__).resolve().parent.parent


@pytest.fixture
def repositorio(tmp_path) -> Path:
    pasta = tmp_path / "fiscal"
    pasta.mkdir()
    for entrada in RAIZ.iterdir():
        if entrada.name in ("fiscal_app", "manage.py"):
            copiar = shutil.copytree if entrada.is_dir() else shutil.copy
            copiar(entrada, pasta / entrada.name, **({"ignore": shutil.ignore_patterns("__pycache__")} if entrada.is_dir() else {}))
        elif entrada.name not in (".git", "var", "build") and not entrada.name.startswith("db.sqlite3"):
            (pasta / entrada.name).symlink_to(entrada)
    # The linked .venv is the one this suite runs in: a requirements.txt edited since it was installed
    # must not make `make` rebuild it (through the link) in the middle of the test.
    (pasta / "requirements.txt").unlink()
    shutil.copy(RAIZ / "requirements.txt", pasta / "requirements.txt")
    instalado = RAIZ / ".venv" / ".instalado"
    if instalado.exists():
        marca = instalado.stat().st_mtime
        os.utime(pasta / "requirements.txt", (marca - 1, marca - 1))
    return pasta


def terminal_novo() -> dict:
    """A shell's environment with nothing the settings read (no DEBUG either) and no test settings."""
    ignorar = todas_as_variaveis() | {"DJANGO_SETTINGS_MODULE", "FISCAL_CHAVE_DE_DESENVOLVIMENTO"}
    return {k: v for k, v in os.environ.items() if k not in ignorar}


def valor(repositorio: Path, ambiente: dict, nome: str) -> str:
    codigo = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{nome}))"
    execucao = subprocess.run([sys.executable, "-c", codigo], cwd=repositorio, env=ambiente, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip
    assert execucao.returncode == 0, execucao.stderr
    return execucao.stdout.strip()


def test_the_development_env_file_is_read_under_debug_only(repositorio, tmp_path):
    (repositorio / "var").mkdir()
    (repositorio / "var" / "dev.env").write_text("WEBHOOK_ALLOW_PRIVATE_NETWORKS=true\nFISCAL_URL_PUBLICA=http://127.0.0.1:8010\n")
    desenvolvimento = {**terminal_novo(), "DJANGO_SETTINGS_MODULE": "fiscal_app.settings", "DEBUG": "true"}

    assert valor(repositorio, desenvolvimento, "WEBHOOK_ALLOW_PRIVATE_NETWORKS") == "True"
    assert valor(repositorio, desenvolvimento, "FISCAL_URL_PUBLICA") == "'http://127.0.0.1:8010'"
    # the environment still wins over the file
    assert valor(repositorio, {**desenvolvimento, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "false"},
                 "WEBHOOK_ALLOW_PRIVATE_NETWORKS") == "False"  # fmt: skip
    # production (DEBUG off) never reads it, even when a stray copy is there
    producao = ambiente_de_producao(tmp_path)
    assert valor(repositorio, producao, "WEBHOOK_ALLOW_PRIVATE_NETWORKS") == "False"
    assert valor(repositorio, producao, "FISCAL_URL_PUBLICA") == "'http://127.0.0.1:8000'"


@pytest.mark.skipif(not shutil.which("make"), reason="make é necessário")
def test_make_run_serves_on_port_runs_a_worker_and_another_terminal_delivers_locally(repositorio, tmp_path):
    porta, receptor = porta_livre(), Receptor()
    saida, erros = (tmp_path / "make.out").open("w"), (tmp_path / "make.err").open("w")
    make = subprocess.Popen(["make", "-s", "run", f"PORT={porta}"], cwd=repositorio, env=terminal_novo(),
                            stdout=saida, stderr=erros, start_new_session=True)  # fmt: skip
    try:
        # given: the server up on the port asked for, and the demo's token that make run printed
        url = f"http://127.0.0.1:{porta}"
        assert esperar(lambda: _responde(url) or make.poll() is not None, prazo=90), "make run não subiu"
        assert make.poll() is None, (tmp_path / "make.err").read_text()
        assert f"FISCAL_URL_PUBLICA=http://127.0.0.1:{porta}" in (repositorio / "var" / "dev.env").read_text()
        [token] = re.findall(r"^fsc_\S+$", (tmp_path / "make.out").read_text(), re.MULTILINE)
        cabecalhos = {"Authorization": f"Token {token}"}
        resposta = requests.post(f"{url}/api/webhooks/", json={"nome": "Local", "url": receptor.url}, headers=cabecalhos,
                                 timeout=10)  # fmt: skip
        assert resposta.status_code == 201, resposta.text

        # when: in another terminal, two notes imported by hand; the second left to the worker
        outro_terminal = {**terminal_novo(), "DEBUG": "true"}
        manage = [str(repositorio / ".venv" / "bin" / "python"), "manage.py"]
        subprocess.run([*manage, "gerar_nfe_exemplo", "--quantidade", "2", "--saida", "lote"], cwd=repositorio,
                       env=outro_terminal, check=True, capture_output=True, timeout=60)  # fmt: skip
        primeira, segunda = sorted((repositorio / "lote").iterdir())
        importar = [*manage, "importar_xml", "--organizacao", DEMO_SLUG, "--sem-progresso"]
        subprocess.run([*importar, str(primeira)], cwd=repositorio, env=outro_terminal, check=True, capture_output=True,
                       timeout=60)  # fmt: skip
        chegadas_do_comando = len(receptor.recebidos)
        subprocess.run([*importar, str(segunda)], cwd=repositorio, env={**outro_terminal, "WEBHOOK_ENTREGA_IMEDIATA": "false"},
                       check=True, capture_output=True, timeout=60)  # fmt: skip

        # then: the command delivered its own event to the local receiver (var/dev.env's allowance)...
        assert chegadas_do_comando == 1
        # ...and the worker make run started delivered the other one within seconds
        assert esperar(lambda: len(receptor.recebidos) == 2, prazo=15), (tmp_path / "make.err").read_text()
        chaves = [json.loads(corpo)["dados"]["chave"] for corpo, _ in receptor.recebidos]
        assert chaves == [primeira.stem, segunda.stem]
    finally:
        receptor.fechar()
        _ctrl_c(make)
    # Ctrl+C stopped the server and the worker: nothing is left of make's process group
    assert esperar(lambda: not _grupo_vivo(make.pid), prazo=15), "o webhook_worker continuou rodando depois do Ctrl+C"


def _responde(url: str) -> bool:
    try:
        return requests.get(f"{url}/saude/", timeout=1).ok
    except requests.ConnectionError:
        return False


def _ctrl_c(processo: subprocess.Popen) -> None:
    """What a terminal does on Ctrl+C: SIGINT to the whole foreground group (then, if stuck, SIGKILL)."""
    try:
        os.killpg(processo.pid, signal.SIGINT)
        processo.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(processo.pid, signal.SIGKILL)
        processo.wait()
    except ProcessLookupError:
        pass


def _grupo_vivo(grupo: int) -> bool:
    try:
        os.killpg(grupo, 0)
    except ProcessLookupError:
        return False
    return True
