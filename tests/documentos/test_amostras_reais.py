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


# A homologation CT-e whose emitter was replaced by the placeholder 99999999999999 before signing: the
# signature verifies, but it was made with the certificate of 86933033000100, so it is not the emitter's.
ASSINADO_POR_OUTRO = "spedcte_hist_RS_43171099999999999999570010000024631000000106-cte_VALIDSIG.xml"


@pytest.mark.parametrize("arquivo", ASSINADAS, ids=lambda p: p.name)
def test_real_signatures_verify(arquivo):
    from core.documentos.leitura import localizar
    from core.documentos.xmldsig import verificar_assinatura
    from core.documentos.xml_seguro import ler_xml

    assert verificar_assinatura(localizar(ler_xml(arquivo.read_bytes())).assinado).digest_value


@pytest.mark.parametrize("arquivo", [a for a in ASSINADAS if a.name != ASSINADO_POR_OUTRO], ids=lambda p: p.name)
def test_real_signed_documents_are_accepted_as_icp_brasil(arquivo):
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Preparado), getattr(resultado, "mensagem", "")
    # Their signers' certificates chain to the ICP-Brasil roots shipped in core/certificados/icp_brasil.
    assert resultado.assinatura.estado == "valida", resultado.assinatura.motivo_cadeia


def test_a_real_document_signed_by_another_company_than_its_emitter_is_refused():
    arquivo = next(a for a in ASSINADAS if a.name == ASSINADO_POR_OUTRO)
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Falha)
    assert "assinado pelo certificado de 86933033000100, que não é do emitente 99999999999999" in resultado.mensagem


def test_a_real_tampered_document_is_refused():
    arquivo = AMOSTRAS / "invalid" / "derived_tampered_vNF.xml"
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Falha) and "digest" in resultado.mensagem


def test_a_real_truncated_document_is_refused():
    arquivo = AMOSTRAS / "invalid" / "derived_truncated.xml"
    resultado = preparar(arquivo.name, arquivo.read_bytes())
    assert isinstance(resultado, Falha) and "truncado" in resultado.mensagem
