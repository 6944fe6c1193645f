"""Hostile files against the signature: wrapping in every root, repeated Ids, self-signed and foreign signers.

Each attack is a file an attacker can build from a genuine signed document and a forged one. The rule under
test: the element stored is the very element whose signature was verified, the signer is the emitter (or
the event's author) and chains to ICP-Brasil; anything else is refused with a message that says why, and
nothing of it is stored (accepted = 0).
"""

from __future__ import annotations

import copy

import pytest
from lxml import etree

from core.documentos.importacao import importar_bytes
from core.geracao.certificado import gerar_autoridade, gerar_certificado
from core.geracao.documentos import NS_CTE, NS_NFE, gerar_cte, gerar_evento_nfe, gerar_nfe
from core.models import CTe, EventoDocumento, NFe, Origem, Situacao
from core.tenancy import escopo

N = f"{{{NS_NFE}}}"
C = f"{{{NS_CTE}}}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"

pytestmark = pytest.mark.django_db


def importar(org, xml: bytes, nome="hostil.xml", origem=Origem.UPLOAD):
    [resultado] = importar_bytes(organizacao=org, nome=nome, conteudo=xml, origem=origem)
    return resultado


def raiz(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def xml_de(elemento: etree._Element) -> bytes:
    return etree.tostring(elemento, xml_declaration=True, encoding="UTF-8")


def sem_assinatura(documento: etree._Element) -> etree._Element:
    for assinatura in documento.findall(f"{DS}Signature"):
        documento.remove(assinatura)
    return documento


def assert_recusado(org, resultado, trecho: str):
    assert resultado.status == "erro", resultado.mensagem
    assert trecho in resultado.mensagem, resultado.mensagem
    assert not escopo(NFe, org).exists()
    assert not escopo(CTe, org).exists()


# --- wrapping: two documents in one envelope ----------------------------------------------------------------


@pytest.mark.parametrize("ordem", ["assinado_primeiro", "assinado_depois"])
def test_an_nfeproc_with_a_second_unsigned_nfe_is_refused(org, emissor, ordem):
    genuina, forjada = gerar_nfe(certificado=emissor, numero=1), gerar_nfe(certificado=emissor, numero=2)
    proc = raiz(genuina.xml)
    intrusa = sem_assinatura(raiz(forjada.xml).find(f"{N}NFe"))
    proc.find(f"{N}NFe").addnext(intrusa) if ordem == "assinado_primeiro" else proc.insert(0, intrusa)
    assert_recusado(org, importar(org, xml_de(proc)), "2 elementos nfeProc/NFe")


def test_a_bare_nfe_with_two_infnfe_is_refused(org, emissor):
    genuina = raiz(gerar_nfe(certificado=emissor, numero=1).xml).find(f"{N}NFe")
    outra = raiz(gerar_nfe(certificado=emissor, numero=2).xml).find(f"{N}NFe/{N}infNFe")
    genuina.find(f"{N}infNFe").addnext(outra)
    assert_recusado(org, importar(org, xml_de(genuina)), "2 elementos NFe/infNFe")


def test_a_ctproc_with_a_second_unsigned_cte_is_refused(org, transportadora):
    genuino = gerar_cte(certificado=transportadora, numero=1)
    forjado = gerar_cte(certificado=transportadora, numero=2)
    proc = raiz(genuino.xml)
    proc.find(f"{C}CTe").addnext(sem_assinatura(raiz(forjado.xml).find(f"{C}CTe")))
    assert_recusado(org, importar(org, xml_de(proc)), "2 elementos cteProc/CTe")


def test_a_procevento_with_a_second_unsigned_cancellation_cancels_nothing(org, emissor):
    alvo = gerar_nfe(certificado=emissor, numero=7)
    assert importar(org, alvo.xml).status == "sucesso"
    genuino = gerar_evento_nfe(certificado=emissor, chave=alvo.chave, tipo_evento="110110",
                               detalhes={"xCorrecao": "Correção genuína do endereço de entrega"})
    forjado = gerar_evento_nfe(certificado=emissor, chave=alvo.chave, tipo_evento="110111")
    proc = raiz(genuino.xml)
    proc.find(f"{N}evento").addnext(sem_assinatura(raiz(forjado.xml).find(f"{N}evento")))
    resultado = importar(org, xml_de(proc), nome="evento.xml")
    assert resultado.status == "erro" and "2 elementos procEventoNFe/evento" in resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.AUTORIZADA
    assert not escopo(EventoDocumento, org).exists()


def test_an_unexpected_element_in_the_envelope_is_refused(org, emissor):
    proc = raiz(gerar_nfe(certificado=emissor).xml)
    etree.SubElement(proc, f"{N}infNFe")  # a look-alike next to NFe, outside the signature
    assert_recusado(org, importar(org, xml_de(proc)), "elemento inesperado infNFe em nfeProc")


def test_a_second_protocol_is_refused(org, emissor):
    proc = raiz(gerar_nfe(certificado=emissor).xml)
    proc.append(copy.deepcopy(proc.find(f"{N}protNFe")))
    assert_recusado(org, importar(org, xml_de(proc)), "2 elementos nfeProc/protNFe")


def test_a_repeated_signed_id_anywhere_is_refused(org, emissor):
    proc = raiz(gerar_nfe(certificado=emissor).xml)
    inf = proc.find(f"{N}NFe/{N}infNFe")
    isca = etree.SubElement(proc.find(f"{N}protNFe/{N}infProt"), f"{N}xObs")
    isca.set("Id", inf.get("Id"))
    assert_recusado(org, importar(org, xml_de(proc)), f"Id {inf.get('Id')} repetido")


def test_a_repeated_field_inside_the_signed_element_is_never_guessed(org, emissor):
    # Signed as is by its emitter, but SEFAZ's schema allows one total: which vNF counts would be a guess.
    from core.documentos import xmldsig

    proc = raiz(gerar_nfe(certificado=emissor).xml)
    nfe = proc.find(f"{N}NFe")
    inf = nfe.find(f"{N}infNFe")
    inf.find(f"{N}total").addnext(copy.deepcopy(inf.find(f"{N}total")))
    sem_assinatura(nfe)
    xmldsig.assinar(inf, emissor.chave_privada, emissor.certificado)
    assert_recusado(org, importar(org, xml_de(proc)), "elemento repetido: infNFe/total")


def test_a_reference_to_another_element_is_refused(org, emissor):
    proc = raiz(gerar_nfe(certificado=emissor).xml)
    referencia = proc.find(f"{N}NFe/{DS}Signature/{DS}SignedInfo/{DS}Reference")
    referencia.set("URI", "#NFe00000000000000000000000000000000000000000000")
    assert_recusado(org, importar(org, xml_de(proc)), "não aponta para o elemento assinado")


# --- who signed ---------------------------------------------------------------------------------------------


def test_a_self_signed_certificate_of_the_emitter_is_refused(org):
    forjador = gerar_certificado(cnpj="33000167000101", nome="PETROLEO BRASILEIRO S A PETROBRAS",
                                 autoassinado=True, rotulo_chave="forjador")
    documento = gerar_nfe(certificado=forjador)  # a home-made protocol comes with it
    assert_recusado(org, importar(org, documento.xml), "certificado autoassinado")


def test_a_signer_of_another_cnpj_is_refused(org, emissor):
    documento = gerar_nfe(certificado=emissor, emitente_cnpj="33000167000101")
    assert_recusado(org, importar(org, documento.xml), "que não é do emitente 33000167000101")


def test_a_cancellation_signed_by_someone_else_than_the_emitter_is_refused(org, emissor, outro_certificado):
    alvo = gerar_nfe(certificado=emissor, numero=9)
    importar(org, alvo.xml)
    cancelamento = gerar_evento_nfe(certificado=outro_certificado, chave=alvo.chave, tipo_evento="110111")
    resultado = importar(org, cancelamento.xml, nome="cancelamento.xml")
    assert resultado.status == "erro"
    assert "só o emitente cancela um documento" in resultado.mensagem
    assert escopo(NFe, org).get().situacao == Situacao.AUTORIZADA


def test_an_event_whose_author_is_not_its_signer_is_refused(org, emissor, outro_certificado):
    alvo = gerar_nfe(certificado=emissor, numero=10)
    importar(org, alvo.xml)
    ciencia = gerar_evento_nfe(certificado=outro_certificado, chave=alvo.chave, tipo_evento="210210",
                               autor_documento="61585865000151")
    resultado = importar(org, ciencia.xml, nome="ciencia.xml")
    assert resultado.status == "erro" and "que não é do autor do evento 61585865000151" in resultado.mensagem


def test_an_authority_outside_icp_brasil_gives_a_distinct_state_never_valida(org, nova_org, emissor, settings):
    from tests.api.conftest import cliente_com_token

    api = cliente_com_token(nova_org.usuario)
    settings.FISCAL_CADEIA_CERTIFICADOS_EXTRAS = []  # the test CA is just another unknown authority now
    documento = gerar_nfe(certificado=emissor)
    resultado = importar(org, documento.xml)
    assert resultado.status == "sucesso"
    nfe = escopo(NFe, org).get()
    assert nfe.assinatura == "cadeia_desconhecida"
    assert api.get(f"/api/nfes/{nfe.chave}/").json()["assinatura"] == "cadeia_desconhecida"
    chaves = [n["chave"] for n in api.get("/api/nfes/", {"assinatura": "cadeia_desconhecida"}).json()["results"]]
    assert chaves == [nfe.chave]
    assert api.get("/api/nfes/", {"assinatura": "valida"}).json()["results"] == []


def test_a_forged_authority_with_a_trusted_name_does_not_chain(org, settings):
    from core.geracao.certificado import autoridade_teste

    _, verdadeira = autoridade_teste()
    nome = verdadeira.subject.rfc4514_string()
    impostora = gerar_autoridade(nome=nome.split("CN=")[1].split(",")[0], rotulo_chave="impostora")
    emissor_falso = gerar_certificado(emissor=impostora, rotulo_chave="folha-impostora")
    nfe = importar(org, gerar_nfe(certificado=emissor_falso).xml)
    assert nfe.status == "sucesso"
    assert escopo(NFe, org).get().assinatura == "cadeia_desconhecida"


def test_a_pAA_signed_document_needs_the_paa_signer(org, emissor):
    # NT 2025.002-RTC: with infPAA the signer is the PAA named in CNPJPAA, not the emitter.
    from core.documentos import xmldsig

    paa = gerar_certificado(cnpj="19131243000197", nome="PROVEDOR PAA SA", rotulo_chave="paa")
    proc = raiz(gerar_nfe(certificado=emissor).xml)
    nfe = proc.find(f"{N}NFe")
    inf = nfe.find(f"{N}infNFe")
    grupo = etree.SubElement(inf, f"{N}infPAA")
    etree.SubElement(grupo, f"{N}CNPJPAA").text = "19131243000197"
    sem_assinatura(nfe)
    proc.remove(proc.find(f"{N}protNFe"))
    xmldsig.assinar(inf, paa.chave_privada, paa.certificado)
    assert importar(org, xml_de(nfe), nome="paa.xml").status == "sucesso"

    sem_assinatura(nfe)
    xmldsig.assinar(inf, emissor.chave_privada, emissor.certificado)  # the emitter, not the PAA
    resultado = importar(org, xml_de(nfe), nome="paa-errado.xml")
    assert resultado.status == "erro" and "Provedor de Assinatura e Autorização" in resultado.mensagem


def test_nothing_hostile_is_accepted_in_one_upload(org, emissor, transportadora):
    """The suite above in one ZIP-less batch: every hostile file is an error, the genuine one alone is stored."""
    genuina = gerar_nfe(certificado=emissor, numero=100)
    hostis = []
    proc = raiz(gerar_nfe(certificado=emissor, numero=101).xml)
    proc.find(f"{N}NFe").addnext(sem_assinatura(raiz(gerar_nfe(certificado=emissor, numero=102).xml).find(f"{N}NFe")))
    hostis.append(xml_de(proc))
    hostis.append(gerar_nfe(certificado=emissor, emitente_cnpj="33000167000101", numero=103).xml)
    forjador = gerar_certificado(cnpj="33000167000101", autoassinado=True, rotulo_chave="forjador")
    hostis.append(gerar_nfe(certificado=forjador, numero=104).xml)
    resultados = [importar(org, xml, nome=f"h{n}.xml") for n, xml in enumerate(hostis)]
    assert [r.status for r in resultados] == ["erro"] * len(hostis)
    assert importar(org, genuina.xml).status == "sucesso"
    assert list(escopo(NFe, org).values_list("chave", flat=True)) == [genuina.chave]


# --- wrapping in every root ---------------------------------------------------------------------------------


def _raizes(emissor, transportadora):
    from core.geracao.documentos import gerar_cte_os, gerar_cte_simplificado, gerar_evento_cte, gerar_gtve

    nfe = gerar_nfe(certificado=emissor, numero=300)
    cte = gerar_cte(certificado=transportadora, numero=301)
    return {
        "nfeProc": nfe.xml,
        "NFe": gerar_nfe(certificado=emissor, numero=302, com_protocolo=False).xml,
        "cteProc": cte.xml,
        "CTe": gerar_cte(certificado=transportadora, numero=303, com_protocolo=False).xml,
        "cteOSProc": gerar_cte_os(certificado=transportadora, numero=304).xml,
        "GTVeProc": gerar_gtve(certificado=transportadora, numero=305).xml,
        "cteSimpProc": gerar_cte_simplificado(certificado=transportadora, numero=306).xml,
        "procEventoNFe": gerar_evento_nfe(certificado=emissor, chave=nfe.chave, tipo_evento="110111").xml,
        "procEventoCTe": gerar_evento_cte(certificado=transportadora, chave=cte.chave, tipo_evento="110111").xml,
    }


RAIZES = ["nfeProc", "NFe", "cteProc", "CTe", "cteOSProc", "GTVeProc", "cteSimpProc", "procEventoNFe", "procEventoCTe"]


@pytest.fixture(scope="module")
def documentos_por_raiz(emissor, transportadora):
    return _raizes(emissor, transportadora)


@pytest.mark.parametrize("posicao", ["antes", "depois"])
@pytest.mark.parametrize("tipo", RAIZES)
def test_wrapping_is_refused_in_every_root(org, documentos_por_raiz, tipo, posicao):
    """A forged, unsigned twin of the document (or of its signed element, for bare roots) next to the genuine one."""
    from core.documentos.leitura import localizar

    original = documentos_por_raiz[tipo]
    estrutura = localizar(raiz(original))
    assert estrutura.tipo == tipo
    alvo = estrutura.assinado if estrutura.documento is estrutura.raiz else estrutura.documento
    gemeo = sem_assinatura(copy.deepcopy(alvo))
    for folha in gemeo.iter():
        if folha.text and folha.text.strip() and len(folha) == 0 and folha.text.strip().replace(".", "").isdigit():
            folha.text = "1"  # a forger's values: every number becomes 1
    alvo.addprevious(gemeo) if posicao == "antes" else alvo.addnext(gemeo)
    resultado = importar(org, xml_de(estrutura.raiz), nome=f"{tipo}.xml")
    assert resultado.status == "erro" and "2 elementos" in resultado.mensagem, resultado.mensagem
    assert resultado.documento is None
    from core.models import OutroDocumento

    for modelo in (NFe, CTe, OutroDocumento, EventoDocumento):
        assert not escopo(modelo, org).exists(), modelo.__name__


@pytest.mark.parametrize("tipo", RAIZES)
def test_every_genuine_root_is_accepted(org, documentos_por_raiz, tipo):
    resultado = importar(org, documentos_por_raiz[tipo], nome=f"{tipo}.xml")
    assert resultado.status == "sucesso", resultado.mensagem
