"""Pytest plugin: a test certificate and a seeded document generator (register from tests/conftest.py)."""

from __future__ import annotations

import random
from functools import partial

import pytest

from core.geracao import documentos
from core.geracao.certificado import CertificadoGerado, gerar_certificado


class Gerador:
    """The document generators bound to one certificate and one seeded ``random.Random``."""

    def __init__(self, certificado: CertificadoGerado, semente: int = 2026):
        self.certificado = certificado
        self.rng = random.Random(semente)
        assinados = {"certificado": certificado, "rng": self.rng}
        self.nfe = partial(documentos.gerar_nfe, **assinados)
        self.cte = partial(documentos.gerar_cte, **assinados)
        self.cte_os = partial(documentos.gerar_cte_os, **assinados)
        self.evento_nfe = partial(documentos.gerar_evento_nfe, **assinados)
        self.evento_cte = partial(documentos.gerar_evento_cte, **assinados)
        self.resumo_nfe = partial(documentos.gerar_resumo_nfe, rng=self.rng)
        self.resumo_evento = partial(documentos.gerar_resumo_evento, rng=self.rng)


@pytest.fixture(scope="session")
def certificado() -> CertificadoGerado:
    return gerar_certificado()


@pytest.fixture(scope="session")
def outro_certificado() -> CertificadoGerado:
    # Another company with its own key pair, for "signed by someone else" cases.
    return gerar_certificado(cnpj="12ABC34501DE35", nome="OUTRA EMPRESA SA", rotulo_chave="outra")


@pytest.fixture
def gerador(certificado: CertificadoGerado) -> Gerador:
    # Function-scoped: every test starts from the same seed, whatever ran before it.
    return Gerador(certificado)
