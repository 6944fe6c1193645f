"""Real documents from ../shared/samples (never copied into the project): the verifier must accept
every validly signed one and refuse the tampered one. Skipped where shared/ is not beside the repo."""

from pathlib import Path

import pytest

from core.documentos.preparacao import Falha, Preparado, preparar

AMOSTRAS = Path(__file__).resolve().parents[3] / "shared" / "samples"
ASSINADAS = sorted(AMOSTRAS.glob("**/*_VALIDSIG.xml")) if AMOSTRAS.is_dir() else []

pytestmark = pytest.mark.skipif(not AMOSTRAS.is_dir(), reason=f"amostras reais ausentes ({AMOSTRAS})")


@pytest.fixture(autouse=True)
def aceitar_homologacao(settings):
    settings.FISCAL_ACEITAR_HOMOLOGACAO = True  # one signed sample is a homologation CT-e


@pytest.mark.parametrize("arquivo", ASSINADAS, ids=lambda p: p.name)
def test_real_signed_documents_are_accepted(arquivo):
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Preparado), getattr(resultado, "mensagem", "")
    assert resultado.assinatura is not None


def test_a_real_tampered_document_is_refused():
    arquivo = AMOSTRAS / "invalid" / "derived_tampered_vNF.xml"
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Falha) and "digest" in resultado.mensagem


def test_a_real_truncated_document_is_refused():
    arquivo = AMOSTRAS / "invalid" / "derived_truncated.xml"
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Falha) and "truncado" in resultado.mensagem
