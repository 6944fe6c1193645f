"""Documents stored by an earlier release are re-checked with today's rules: forged ones become `invalida`."""

from dataclasses import replace

import pytest
from django.core.management import call_command

from core.documentos import preparacao
from core.documentos.importacao import importar_bytes
from core.geracao.certificado import gerar_certificado
from core.geracao.documentos import gerar_nfe
from core.models import ImportLog, NFe, Origem
from core.tenancy import escopo

pytestmark = pytest.mark.django_db


def importar_como_antes(org, xml, monkeypatch):
    """The earlier release: any mathematically valid signature was stored as `valida`."""
    with monkeypatch.context() as m:
        m.setattr(preparacao, "conferir_signatario", lambda assinatura, **_: replace(assinatura, estado="valida"))
        [resultado] = importar_bytes(organizacao=org, nome="antigo.xml", conteudo=xml, origem=Origem.UPLOAD)
    assert resultado.status == "sucesso", resultado.mensagem


def test_forged_documents_stored_before_become_invalida_and_say_why(org, emissor, monkeypatch, capsys, settings):
    forjador = gerar_certificado(cnpj="33000167000101", nome="PETROBRAS", autoassinado=True, rotulo_chave="forjador")
    forjada = gerar_nfe(certificado=forjador, numero=1)
    de_outro = gerar_nfe(certificado=emissor, emitente_cnpj="61585865000151", numero=2)
    genuina = gerar_nfe(certificado=emissor, numero=3)
    for documento in (forjada, de_outro, genuina):
        importar_como_antes(org, documento.xml, monkeypatch)
    assert set(escopo(NFe, org).values_list("assinatura", flat=True)) == {"valida"}

    call_command("reverificar_assinaturas")
    saida = capsys.readouterr().out
    estados = dict(escopo(NFe, org).values_list("chave", "assinatura"))
    assert estados == {forjada.chave: "invalida", de_outro.chave: "invalida", genuina.chave: "valida"}
    assert f"NFe {forjada.chave}: valida -> invalida (assinatura feita com certificado autoassinado" in saida
    assert "2 documento(s) mudaram: 2 invalida" in saida
    erros = escopo(ImportLog, org).filter(status="erro", mensagem__startswith="reconferência da assinatura")
    assert sorted(erros.values_list("chave", flat=True)) == sorted([forjada.chave, de_outro.chave])
    assert erros.get(chave=forjada.chave).xml.bytes_originais() == forjada.xml

    call_command("reverificar_assinaturas")  # idempotent
    assert "0 documento(s) mudaram: nenhuma mudança" in capsys.readouterr().out
    assert erros.count() == 2

    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []  # the authority leaves the trust store
    call_command("reverificar_assinaturas", "--organizacao", org.slug)
    assert escopo(NFe, org).get(chave=genuina.chave).assinatura == "cadeia_desconhecida"


def test_an_unknown_organization_is_a_command_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="organização 'nao-existe' não encontrada"):
        call_command("reverificar_assinaturas", "--organizacao", "nao-existe")
