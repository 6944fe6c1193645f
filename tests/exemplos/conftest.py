"""Run the scripts of exemplos/ for real: subprocesses on real ports, talking HTTP to a live server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from fiscal_api_client import FiscalAPIClient
from tests.webhooks.receptor import porta_livre

EXEMPLOS = Path(__file__).resolve().parents[2] / "exemplos"


class Exemplo:
    """One example server started as `python exemplos/<script> --porta N`, its output in a file."""

    def __init__(self, script: str, ambiente: dict, saida: Path, *argumentos: str, porta: int | None = None):
        self.porta = porta or porta_livre()
        self.url = f"http://127.0.0.1:{self.porta}"
        self.saida = saida
        with saida.open("wb") as arquivo:
            self.processo = subprocess.Popen(
                [sys.executable, str(EXEMPLOS / script), "--porta", str(self.porta), *argumentos],
                env={**os.environ, **ambiente}, stdout=arquivo, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.esperar_saude()

    def esperar_saude(self, prazo: float = 15.0) -> None:
        fim = time.monotonic() + prazo
        while time.monotonic() < fim:
            if self.processo.poll() is not None:
                raise AssertionError(f"o exemplo terminou ao iniciar:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/health", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"o exemplo não respondeu em {prazo} s:\n{self.log()}")

    def log(self) -> str:
        return self.saida.read_text(errors="replace")

    def parar(self) -> None:
        self.processo.terminate()
        try:
            self.processo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.processo.kill()
            self.processo.wait()


@pytest.fixture
def iniciar_exemplo(tmp_path):
    iniciados = []

    def iniciar(script: str, ambiente: dict, *argumentos: str, porta: int | None = None) -> Exemplo:
        exemplo = Exemplo(script, ambiente, tmp_path / f"{script}.{len(iniciados)}.log", *argumentos, porta=porta)
        iniciados.append(exemplo)
        return exemplo

    yield iniciar
    for exemplo in iniciados:
        exemplo.parar()


@pytest.fixture
def entrega_controlada(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True  # the examples listen on 127.0.0.1
    settings.WEBHOOK_ENTREGA_IMEDIATA = False  # delivered by the test thread (in-memory SQLite)


@pytest.fixture
def cliente(live_server, nova_org):
    with FiscalAPIClient(live_server.url, nova_org.token) as cliente:
        yield cliente
