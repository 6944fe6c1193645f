"""Every snippet marked `<!-- executar -->` in the integration docs runs, as written, against a live server.

A file's bash blocks run in order in one shell (later blocks use what earlier ones exported, as a reader
following the guide would); its Python blocks then run each in a fresh interpreter with the same
environment. Background processes a guide starts (the example receiver) are killed at the end.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.models import Webhook, WebhookLog
from core.tenancy import escopo

RAIZ = Path(__file__).resolve().parent.parent
DOCUMENTOS = ["INICIO_RAPIDO_INTEGRACOES.md", "INTEGRACOES.md", "README.md"]
_BLOCO = re.compile(r"<!-- executar -->\s*```(bash|python)\n(.*?)```", re.S)


def blocos(nome: str) -> list[tuple[str, str]]:
    return _BLOCO.findall((RAIZ / nome).read_text())


def porta_livre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_quickstart_has_runnable_snippets():
    tipos = [tipo for tipo, _ in blocos("INICIO_RAPIDO_INTEGRACOES.md")]
    assert tipos.count("bash") >= 3 and "python" in tipos


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="curl e jq são necessários")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("documento", [d for d in DOCUMENTOS if blocos(d)])
def test_marked_snippets_run_against_a_live_server(documento, live_server, nova_org, tmp_path, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the guide's receiver runs on this machine, as with `make run`
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # in-memory SQLite: delivered by the requests themselves or below
    ambiente = {
        **os.environ, "FISCAL_URL": live_server.url, "TOKEN": nova_org.token,
        "FISCAL_RECEPTOR_PORTA": str(porta_livre()), "FISCAL_RECEPTOR_BANCO": str(tmp_path / "webhooks.sqlite3"),
        "PYTHONPATH": str(RAIZ),
    }  # fmt: skip
    shell = "\n".join(codigo for tipo, codigo in blocos(documento) if tipo == "bash")
    # Whatever the guide started in the background is killed with the shell's process group.
    roteiro = f"set -euo pipefail\ncd {RAIZ}\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{shell}\nenv -0 > {tmp_path}/ambiente"
    processo = subprocess.Popen(["bash", "-c", roteiro], cwd=tmp_path, env=ambiente, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        saida, erros = processo.communicate(timeout=120)
    finally:
        if processo.poll() is None:
            os.killpg(processo.pid, signal.SIGKILL)
    assert processo.returncode == 0, f"{documento}:\n{erros}\n{saida}"

    exportado = dict(v.split("=", 1) for v in (tmp_path / "ambiente").read_text().split("\0") if "=" in v)
    for tipo, codigo in blocos(documento):
        if tipo == "python":
            execucao = subprocess.run([sys.executable, "-c", codigo], cwd=RAIZ, env=exportado, capture_output=True,
                                      text=True, timeout=60)  # fmt: skip
            assert execucao.returncode == 0, f"{documento}:\n{codigo}\n{execucao.stderr}"

    if documento == "INICIO_RAPIDO_INTEGRACOES.md":
        # The guide's promise: a verified webhook reached the example receiver.
        assert '"sucesso": true' in saida and '"evento": "teste"' in saida
        webhook = escopo(Webhook, nova_org.organizacao).get()
        assert escopo(WebhookLog, nova_org.organizacao).filter(webhook=webhook, status="sucesso").exists()
