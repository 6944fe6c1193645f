"""The SEFAZ simulator, driven over real TLS with hand-built SOAP envelopes (no project client involved)."""

from __future__ import annotations

import base64
import gzip
import io
import random
import threading
import time
from datetime import datetime, timedelta, UTC

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from lxml import etree

from core.geracao.certificado import gerar_certificado
from core.geracao.documentos import DocumentoGerado, gerar_cte, gerar_evento_nfe, gerar_nfe, gerar_resumo_nfe
from core.management.commands.sefaz_simulador import Command as ComandoSimulador
from core.sefaz.simulador import Simulador

NFE = "http://www.portalfiscal.inf.br/nfe"
CTE = "http://www.portalfiscal.inf.br/cte"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL = {
    "nfe": "http://www.portalfiscal.inf.br/nfe/wsdl/NFeDistribuicaoDFe",
    "cte": "http://www.portalfiscal.inf.br/cte/wsdl/CTeDistribuicaoDFe",
    "evento": "http://www.portalfiscal.inf.br/nfe/wsdl/NFeRecepcaoEvento4",
}
ACAO = {
    "nfe": f"{WSDL['nfe']}/nfeDistDFeInteresse",
    "cte": f"{WSDL['cte']}/cteDistDFeInteresse",
    "evento": f"{WSDL['evento']}/nfeRecepcaoEvento",
}
ALFA = "11222333000181"  # the company under test (destinatário)
ALFA_FILIAL = "11222333000262"  # another branch of the same CNPJ base
BETA = "19131243000197"  # another company
CPF = "52998224725"
EMITENTE = "33444555000181"


# --- certificates, once per session ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def certificados(tmp_path_factory):
    """PEM (cert, key) pairs for requests: ALFA, BETA, the emitter, a CPF, an expired ALFA and two from
    CAs the simulator does not know; ``gerados`` holds the CertificadoGerado objects (to sign events)."""
    pasta = tmp_path_factory.mktemp("certificados")
    gerados = {
        "alfa": gerar_certificado(cnpj=ALFA, nome="COMERCIAL ALFA LTDA"),
        "beta": gerar_certificado(cnpj=BETA, nome="TRANSPORTES BETA SA"),
        "emitente": gerar_certificado(cnpj=EMITENTE, nome="DISTRIBUIDORA AURORA LTDA"),
        "cpf": gerar_certificado(cnpj=None, cpf=CPF, nome="MARIA SILVA"),
        "vencido": gerar_certificado(cnpj=ALFA, inicio=datetime(2020, 1, 1, tzinfo=UTC), dias_validade=30),
    }
    pares = {nome: _escrever(pasta, nome, c.certificado, c.chave_privada) for nome, c in gerados.items()}
    _, cliente, chave = _ac_e_cliente("AC DESCONHECIDA", f"INTRUSO:{ALFA}")
    pares["estranho"] = _escrever(pasta, "estranho", cliente, chave)
    ac, cliente, chave = _ac_e_cliente("AC PARCEIRA", f"EMPRESA PARCEIRA:{ALFA}")
    pares["parceira"], pares["ac_parceira"] = _escrever(pasta, "parceira", cliente, chave), ac
    pares["gerados"] = gerados
    return pares


@pytest.fixture(scope="session")
def emitente(certificados):
    return certificados["gerados"]["emitente"]


def _escrever(pasta, nome, certificado, chave):
    cert, key = pasta / f"{nome}.crt", pasta / f"{nome}.key"
    cert.write_bytes(certificado.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(chave.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))  # fmt: skip
    return str(cert), str(key)


def _ac_e_cliente(nome_ac, cn_cliente):
    """A CA unknown to the simulator and a client certificate it issued (EC keys: fast to make)."""
    chave_ac, chave = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    nome = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, nome_ac)])
    agora = datetime.now(UTC)

    def emitir(sujeito, chave_publica, ca):
        construtor = (x509.CertificateBuilder().subject_name(sujeito).issuer_name(nome).public_key(chave_publica)
                      .serial_number(x509.random_serial_number()).not_valid_before(agora - timedelta(days=1))
                      .not_valid_after(agora + timedelta(days=30))
                      .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None),
                                     critical=True))  # fmt: skip
        return construtor.sign(chave_ac, hashes.SHA256())

    ac = emitir(nome, chave_ac.public_key(), True)
    cliente = emitir(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn_cliente)]), chave.public_key(), False)
    return ac, cliente, chave


# --- the simulator and a hand-made SOAP client ------------------------------------------------------------


@pytest.fixture
def sim():
    with Simulador(ambiente=1, lote=3) as simulador:
        yield simulador


@pytest.fixture
def http():
    sessao = requests.Session()
    sessao.trust_env = False  # no proxy or CA bundle from the environment (requests' trust_env)
    yield sessao
    sessao.close()


def dist_dfe(servico="nfe", documento=ALFA, ult=None, nsu=None, chave=None, tp_amb="1", versao=None, uf="35"):
    ns = NFE if servico == "nfe" else CTE
    versao = versao or ("1.01" if servico == "nfe" else "1.00")
    raiz = etree.Element(f"{{{ns}}}distDFeInt", nsmap={None: ns}, versao=versao)
    etree.SubElement(raiz, f"{{{ns}}}tpAmb").text = tp_amb
    etree.SubElement(raiz, f"{{{ns}}}cUFAutor").text = uf
    etree.SubElement(raiz, f"{{{ns}}}{'CPF' if len(documento) == 11 else 'CNPJ'}").text = documento
    if chave:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}consChNFe"), f"{{{ns}}}chNFe").text = chave
    elif nsu is not None:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}consNSU"), f"{{{ns}}}NSU").text = str(nsu).zfill(15)
    else:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}distNSU"), f"{{{ns}}}ultNSU").text = str(ult or 0).zfill(15)
    return raiz


def envelope(servico, dados, soap=SOAP12):
    raiz = etree.Element(f"{{{soap}}}Envelope", nsmap={"soap": soap})
    corpo = etree.SubElement(raiz, f"{{{soap}}}Body")
    if servico == "evento":
        etree.SubElement(corpo, f"{{{WSDL[servico]}}}nfeDadosMsg", nsmap={None: WSDL[servico]}).append(dados)
    else:
        operacao = etree.SubElement(corpo, f"{{{WSDL[servico]}}}{servico}DistDFeInteresse", nsmap={None: WSDL[servico]})
        etree.SubElement(operacao, f"{{{WSDL[servico]}}}{servico}DadosMsg").append(dados)
    return etree.tostring(raiz, xml_declaration=True, encoding="utf-8")


def chamar(http, sim, servico, corpo, certificado, soap=SOAP12, acao="padrao", timeout=10):
    acao = ACAO[servico] if acao == "padrao" else acao
    if soap == SOAP12:
        cabecalhos = {"Content-Type": "application/soap+xml; charset=utf-8" + (f'; action="{acao}"' if acao else "")}
    else:
        cabecalhos = {"Content-Type": "text/xml; charset=utf-8", **({"SOAPAction": f'"{acao}"'} if acao else {})}
    return http.post(sim.url(servico), data=corpo, headers=cabecalhos, cert=certificado, verify=sim.ca_pem,
                     timeout=timeout)  # fmt: skip


def consultar(http, sim, certificado, servico="nfe", **campos):
    return enviar(http, sim, certificado, dist_dfe(servico, **campos), servico)


def enviar(http, sim, certificado, dados, servico="nfe"):
    resposta = chamar(http, sim, servico, envelope(servico, dados), certificado)
    assert resposta.status_code == 200, resposta.text
    return ler_retorno(resposta.content)


def ler_retorno(conteudo):
    ret = next(etree.fromstring(conteudo).iter("{*}retDistDFeInt"))
    texto = lambda nome: ret.findtext(f"{{*}}{nome}")  # noqa: E731
    documentos = [(int(d.get("NSU")), d.get("schema"), gzip.decompress(base64.b64decode(d.text)))
                  for d in ret.iter("{*}docZip")]  # fmt: skip
    return {
        "cstat": int(texto("cStat")), "xmotivo": texto("xMotivo"), "dh_resp": texto("dhResp"),
        "ult": int(texto("ultNSU")) if texto("ultNSU") else None,
        "max": int(texto("maxNSU")) if texto("maxNSU") else None,
        "nsus": [d[0] for d in documentos], "documentos": documentos, "versao": ret.get("versao"),
    }  # fmt: skip


def resumos(sim, quantos, documento=ALFA, semente=0):
    rng = random.Random(semente)
    return [sim.publicar(documento, "nfe", gerar_resumo_nfe(rng=rng).xml) for _ in range(quantos)]


# --- distNSU: paging, 137, 656 ----------------------------------------------------------------------------


def test_it_pages_with_138_following_ultnsu_until_maxnsu(sim, http, certificados):
    rng = random.Random(1)
    publicados = [gerar_resumo_nfe(rng=rng).xml for _ in range(7)]
    assert [sim.publicar(ALFA, "nfe", xml) for xml in publicados] == [1, 2, 3, 4, 5, 6, 7]

    paginas, recebidos, ult = [], [], 0
    while True:
        retorno = consultar(http, sim, certificados["alfa"], ult=ult)
        assert retorno["cstat"] == 138 and retorno["max"] == 7
        paginas.append(retorno["nsus"])
        recebidos += retorno["documentos"]
        ult = retorno["ult"]
        if ult == retorno["max"]:
            break

    assert paginas == [[1, 2, 3], [4, 5, 6], [7]]
    assert recebidos == [(n, "resNFe_v1.01.xsd", xml) for n, xml in enumerate(publicados, start=1)]
    assert [(c.tipo, c.nsu, c.cstat) for c in sim.chamadas] == [("distNSU", 0, 138), ("distNSU", 3, 138),
                                                                ("distNSU", 6, 138)]  # fmt: skip


def test_it_answers_fewer_documents_than_the_page_size_while_more_exist(sim, http, certificados):
    sim.lote, sim.pagina_irregular = 5, True
    resumos(sim, 20)

    ult, tamanhos = 0, []
    while ult != 20:
        retorno = consultar(http, sim, certificados["alfa"], ult=ult)
        tamanhos.append(len(retorno["nsus"]))
        assert retorno["nsus"] == list(range(ult + 1, retorno["ult"] + 1))
        ult = retorno["ult"]

    assert all(1 <= t < 5 for t in tamanhos) and sum(tamanhos) == 20


def test_it_answers_137_and_656_when_asked_again_within_the_hour(sim, http, certificados):
    vazio = consultar(http, sim, certificados["alfa"], ult=0)
    assert (vazio["cstat"], vazio["ult"], vazio["max"]) == (137, 0, 0)

    sim.avancar(minutos=30)
    bloqueio = consultar(http, sim, certificados["alfa"], ult=0)
    assert bloqueio["cstat"] == 656 and "aguardado 1 hora" in bloqueio["xmotivo"]
    assert (bloqueio["ult"], bloqueio["max"]) == (0, 0)

    sim.avancar(minutos=45)  # 75 min after the 137, but only 45 after the block started
    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 656  # and the hour restarts
    sim.avancar(minutos=59)
    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 656
    sim.avancar(minutos=61)
    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 137


def test_it_answers_656_after_reaching_maxnsu_within_the_hour(sim, http, certificados):
    resumos(sim, 2)
    assert consultar(http, sim, certificados["alfa"], ult=0)["ult"] == 2  # == maxNSU: wait an hour
    resumos(sim, 1, semente=9)

    assert consultar(http, sim, certificados["alfa"], ult=2)["cstat"] == 656
    sim.avancar(minutos=61)
    retorno = consultar(http, sim, certificados["alfa"], ult=2)
    assert (retorno["cstat"], retorno["nsus"]) == (138, [3])


def test_it_answers_656_to_a_non_sequential_ultnsu_with_the_last_one_returned(sim, http, certificados):
    resumos(sim, 10)
    assert consultar(http, sim, certificados["alfa"], ult=0)["ult"] == 3
    assert consultar(http, sim, certificados["alfa"], ult=3)["ult"] == 6

    recomeco = consultar(http, sim, certificados["alfa"], ult=0)  # restarting from zero (PyNFe#271)
    assert recomeco["cstat"] == 656 and "ultNSU nas solicitacoes subsequentes" in recomeco["xmotivo"]
    assert (recomeco["ult"], recomeco["max"]) == (6, 0)
    sim.avancar(minutos=61)
    assert consultar(http, sim, certificados["alfa"], ult=8)["cstat"] == 656  # jumping ahead is no better
    sim.avancar(minutos=61)
    assert consultar(http, sim, certificados["alfa"], ult=6)["nsus"] == [7, 8, 9]


def test_it_refuses_a_repeated_request_whose_answer_moved_the_sequence(sim, http, certificados):
    """NT 2014.002 §3.11.4: each distNSU uses the ultNSU returned last, no jump backward; a client that lost
    an answer and repeats its request is going backward, and the AN says so with the ultNSU to resume from."""
    resumos(sim, 5)
    assert consultar(http, sim, certificados["alfa"], ult=0)["ult"] == 3

    repetida = consultar(http, sim, certificados["alfa"], ult=0)  # the client crashed before storing the first

    assert (repetida["cstat"], repetida["ult"], repetida["nsus"]) == (656, 3, [])
    assert "ultNSU nas solicitacoes subsequentes" in repetida["xmotivo"]
    sim.avancar(minutos=61)
    assert consultar(http, sim, certificados["alfa"], ult=3)["nsus"] == [4, 5]


def test_a_request_that_moved_nothing_may_be_repeated_after_the_hour(sim, http, certificados):
    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 137  # its answer lost: ultNSU stays 0
    sim.avancar(minutos=61)

    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 137


def test_it_keeps_one_sequence_per_cnpj_as_sent(sim, http, certificados):
    resumos(sim, 2, documento=ALFA)
    resumos(sim, 1, documento=ALFA_FILIAL, semente=5)

    assert consultar(http, sim, certificados["alfa"], ult=0)["nsus"] == [1, 2]
    filial = consultar(http, sim, certificados["alfa"], documento=ALFA_FILIAL, ult=0)  # same base: allowed
    assert (filial["cstat"], filial["nsus"], filial["max"]) == (138, [1], 1)


def test_it_answers_589_when_the_nsu_is_beyond_maxnsu(sim, http, certificados):
    resumos(sim, 2)

    assert consultar(http, sim, certificados["alfa"], ult=5)["cstat"] == 589
    assert consultar(http, sim, certificados["alfa"], nsu=3)["cstat"] == 589
    assert consultar(http, sim, certificados["alfa"], ult=0)["nsus"] == [1, 2]  # 589 moved nothing


def test_it_starts_a_new_cnpj_with_137_and_no_retroactive_nsu_on_first_use(http, certificados):
    with Simulador(primeiro_uso=True) as sim:
        assert sim.publicar(ALFA, "nfe", gerar_resumo_nfe(rng=random.Random(1)).xml) is None

        primeiro = consultar(http, sim, certificados["alfa"], ult=0)
        assert (primeiro["cstat"], primeiro["ult"], primeiro["max"]) == (137, 0, 0)
        assert sim.publicar(ALFA, "nfe", gerar_resumo_nfe(rng=random.Random(2)).xml) == 1
        sim.avancar(minutos=61)
        assert consultar(http, sim, certificados["alfa"], ult=0)["nsus"] == [1]


# --- consNSU, consChNFe, gaps, CT-e -----------------------------------------------------------------------


def test_it_answers_consnsu_with_one_document_or_137_for_a_gap(sim, http, certificados):
    resumos(sim, 1)
    sim.pular_nsu(ALFA, "nfe")
    resumos(sim, 1, semente=3)

    assert consultar(http, sim, certificados["alfa"], ult=0)["nsus"] == [1, 3]
    assert consultar(http, sim, certificados["alfa"], nsu=2)["cstat"] == 137
    avulsa = consultar(http, sim, certificados["alfa"], nsu=3)
    assert (avulsa["cstat"], avulsa["nsus"]) == (138, [3])


def test_it_limits_consnsu_and_conschnfe_to_20_per_hour(sim, http, certificados, emitente):
    resumos(sim, 1)
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(4))
    sim.publicar(ALFA, "nfe", nfe.xml)

    cstats = [consultar(http, sim, certificados["alfa"], nsu=1)["cstat"] for _ in range(10)]
    cstats += [consultar(http, sim, certificados["alfa"], chave=nfe.chave)["cstat"] for _ in range(10)]
    assert cstats == [138] * 20
    excesso = consultar(http, sim, certificados["alfa"], nsu=1)
    assert excesso["cstat"] == 656 and "20 consultas por hora" in excesso["xmotivo"]
    assert consultar(http, sim, certificados["alfa"], ult=0)["cstat"] == 656  # the CNPJ is blocked

    sim.avancar(minutos=61)
    assert consultar(http, sim, certificados["alfa"], nsu=1)["cstat"] == 138


def test_it_answers_conschnfe_with_the_nfe_only_for_its_parties(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(5))
    sim.publicar(ALFA, "nfe", nfe.xml)
    outra_chave = nfe.chave[:25] + ("1" if nfe.chave[25] != "1" else "2") + nfe.chave[26:]

    encontrada = consultar(http, sim, certificados["alfa"], chave=nfe.chave)
    assert encontrada["cstat"] == 138 and encontrada["documentos"][0][1:] == ("procNFe_v4.00.xsd", nfe.xml)
    assert consultar(http, sim, certificados["beta"], documento=BETA, chave=nfe.chave)["cstat"] == 640
    assert consultar(http, sim, certificados["emitente"], documento=EMITENTE, chave=nfe.chave)["cstat"] == 641
    assert consultar(http, sim, certificados["alfa"], chave=outra_chave)["cstat"] == 217


def test_it_serves_cte_distribution_in_its_own_layout(sim, http, certificados):
    cte = gerar_cte(certificado=certificados["gerados"]["beta"], destinatario_documento=ALFA, rng=random.Random(6))
    assert sim.publicar(ALFA, "cte", cte.xml) == 1

    retorno = consultar(http, sim, certificados["alfa"], servico="cte", ult=0)
    assert (retorno["cstat"], retorno["versao"]) == (138, "1.00")
    assert retorno["documentos"] == [(1, "procCTe_v4.00.xsd", cte.xml)]
    assert len(retorno["dh_resp"]) == 19  # AAAA-MM-DDTHH:MM:SS, no UTC offset in CT-e
    assert consultar(http, sim, certificados["alfa"], servico="nfe", ult=0)["cstat"] == 137  # separate streams
    assert consultar(http, sim, certificados["alfa"], servico="cte", chave=cte.chave)["cstat"] == 215


# --- identity, schema, ambiente ---------------------------------------------------------------------------


def test_it_answers_593_and_472_when_the_query_is_not_the_certificates(sim, http, certificados):
    resumos(sim, 1, documento=BETA)

    outra = consultar(http, sim, certificados["alfa"], documento=BETA, ult=0)
    assert outra["cstat"] == 593 and outra["nsus"] == [] and outra["ult"] is None
    assert consultar(http, sim, certificados["cpf"], documento="11144477735", ult=0)["cstat"] == 472
    assert consultar(http, sim, certificados["cpf"], documento=ALFA, ult=0)["cstat"] == 593
    assert consultar(http, sim, certificados["cpf"], documento=CPF, ult=0)["cstat"] == 137


def test_it_answers_215_252_and_404_for_malformed_queries(sim, http, certificados):
    curto = dist_dfe(ult=0)
    curto.find(f".//{{{NFE}}}ultNSU").text = "12"
    prefixado = etree.Element(f"{{{NFE}}}distDFeInt", nsmap={"nfe": NFE}, versao="1.01")
    prefixado.extend(list(dist_dfe(ult=0)))

    assert enviar(http, sim, certificados["alfa"], curto)["cstat"] == 215
    assert consultar(http, sim, certificados["alfa"], ult=0, versao="1.00")["cstat"] == 215
    assert consultar(http, sim, certificados["alfa"], ult=0, tp_amb="2")["cstat"] == 252
    assert enviar(http, sim, certificados["alfa"], prefixado)["cstat"] == 404
    assert [c.cstat for c in sim.chamadas] == [215, 215, 252, 404]


# --- TLS -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "certificado,alerta,motivo",
    [
        (None, "certificate required", "peer did not return a certificate"),
        ("estranho", "unknown ca", "unable to get local issuer certificate"),
        ("vencido", "certificate expired", "certificate has expired"),
    ],
)
def test_it_refuses_missing_untrusted_or_expired_client_certificates_at_tls(sim, http, certificados, certificado,
                                                                            alerta, motivo):  # fmt: skip
    with pytest.raises(requests.exceptions.SSLError, match=alerta):
        chamar(http, sim, "nfe", envelope("nfe", dist_dfe(ult=0)), certificados[certificado] if certificado else None)

    assert sim.chamadas == []
    assert _esperar(lambda: sim.recusas_tls) and motivo in sim.recusas_tls[-1]


def _esperar(condicao, segundos=2.0):
    # The server thread records the refusal right after sending its alert: the client may be faster.
    limite = time.monotonic() + segundos
    while not condicao() and time.monotonic() < limite:
        time.sleep(0.01)
    return condicao()


def test_it_accepts_certificates_of_a_ca_it_is_told_to_trust(sim, http, certificados):
    with pytest.raises(requests.exceptions.SSLError):
        consultar(http, sim, certificados["parceira"], ult=0)

    sim.confiar_em(certificados["ac_parceira"])

    assert consultar(http, sim, certificados["parceira"], ult=0)["cstat"] == 137  # identity from "NOME:CNPJ"


# --- SOAP ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("soap,tipo", [(SOAP11, "text/xml"), (SOAP12, "application/soap+xml")])
def test_it_answers_in_the_soap_version_it_was_asked(sim, http, certificados, soap, tipo):
    resposta = chamar(http, sim, "nfe", envelope("nfe", dist_dfe(ult=0), soap), certificados["alfa"], soap=soap)

    assert resposta.status_code == 200 and resposta.headers["Content-Type"].startswith(tipo)
    raiz = etree.fromstring(resposta.content)
    assert raiz.tag == f"{{{soap}}}Envelope"
    assert raiz.find(f"{{{soap}}}Body/{{{WSDL['nfe']}}}nfeDistDFeInteresseResponse/"
                     f"{{{WSDL['nfe']}}}nfeDistDFeInteresseResult/{{{NFE}}}retDistDFeInt") is not None  # fmt: skip


@pytest.mark.parametrize(
    "soap,acao,corpo",
    [
        (SOAP11, "", None),  # SOAP 1.1 without SOAPAction
        (SOAP12, f"{WSDL['nfe']}/outraCoisa", None),
        (SOAP12, "padrao", b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>"),
        (SOAP12, "padrao", envelope("cte", dist_dfe("cte", ult=0))),  # the CT-e operation on the NF-e path
    ],
)
def test_it_answers_a_soap_fault_for_a_wrong_action_or_malformed_xml(sim, http, certificados, soap, acao, corpo):
    corpo = corpo or envelope("nfe", dist_dfe(ult=0), soap)
    resposta = chamar(http, sim, "nfe", corpo, certificados["alfa"], soap=soap, acao=acao)

    assert resposta.status_code == 500
    assert etree.fromstring(resposta.content).find(f"{{{soap}}}Body/{{{soap}}}Fault") is not None
    assert [(c.cstat, c.falha) for c in sim.chamadas] == [(None, "soap_fault")]


def test_it_accepts_soap_12_without_action_and_answers_404_to_wsdl(sim, http, certificados):
    resposta = chamar(http, sim, "nfe", envelope("nfe", dist_dfe(ult=0)), certificados["alfa"], acao="")

    assert ler_retorno(resposta.content)["cstat"] == 137
    assert http.get(sim.url("nfe") + "?wsdl", cert=certificados["alfa"], verify=sim.ca_pem).status_code == 404


# --- manifestação (NFeRecepcaoEvento4) --------------------------------------------------------------------


def env_evento(*eventos, id_lote="1"):
    raiz = etree.Element(f"{{{NFE}}}envEvento", nsmap={None: NFE}, versao="1.00")
    etree.SubElement(raiz, f"{{{NFE}}}idLote").text = id_lote
    for evento in eventos:
        raiz.append(etree.fromstring(evento.xml))
    return raiz


def manifestar(http, sim, certificado, *eventos):
    """(lote cStat, [cStat of each retEvento])."""
    resposta = chamar(http, sim, "evento", envelope("evento", env_evento(*eventos)), certificado)
    assert resposta.status_code == 200, resposta.text
    ret = next(etree.fromstring(resposta.content).iter(f"{{{NFE}}}retEnvEvento"))
    return int(ret.findtext(f"{{{NFE}}}cStat")), [int(c.text) for c in ret.iter(f"{{{NFE}}}cStat")][1:]


def evento(certificados, chave, tipo="210210", nome="alfa", **opcoes):
    return gerar_evento_nfe(certificado=certificados["gerados"][nome], chave=chave, tipo_evento=tipo,
                            com_retorno=False, **opcoes)  # fmt: skip


def test_it_releases_the_full_nfe_in_a_new_nsu_after_a_ciencia(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(7))
    assert sim.publicar_para_destinatario(ALFA, nfe.xml) == 1

    resumo = consultar(http, sim, certificados["alfa"], ult=0)
    assert resumo["documentos"][0][1] == "resNFe_v1.01.xsd"
    res = etree.fromstring(resumo["documentos"][0][2])
    assert res.findtext(f"{{{NFE}}}chNFe") == nfe.chave and res.findtext(f"{{{NFE}}}cSitNFe") == "1"
    assert res.findtext(f"{{{NFE}}}CNPJ") == EMITENTE
    assert consultar(http, sim, certificados["alfa"], chave=nfe.chave)["documentos"][0][1] == "resNFe_v1.01.xsd"

    assert manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave)) == (128, [135])
    sim.avancar(minutos=61)
    completa = consultar(http, sim, certificados["alfa"], ult=1)
    assert completa["documentos"] == [(2, "procNFe_v4.00.xsd", nfe.xml)]
    assert [e.tipo_evento for e in sim.eventos_registrados] == ["210210"]

    # a later confirmação is registered but publishes nothing new
    assert manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave, "210200")) == (128, [135])
    assert sim.situacao(ALFA, "nfe").max_nsu == 2


def test_it_releases_nothing_after_a_desconhecimento(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(8))
    sim.publicar_para_destinatario(ALFA, nfe)

    assert manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave, "210220")) == (128, [135])
    assert sim.situacao(ALFA, "nfe").max_nsu == 1


def test_it_answers_one_retevento_per_evento_with_its_own_cstat(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(9))
    sim.publicar_para_destinatario(ALFA, nfe)
    adulterado = etree.fromstring(evento(certificados, nfe.chave, "210240").xml)
    adulterado.find(f".//{{{NFE}}}xJust").text = "Texto trocado depois da assinatura"
    adulterado = DocumentoGerado(nfe.chave, etree.tostring(adulterado))
    desconhecida = nfe.chave[:-5] + "00000"

    cstat, retornos = manifestar(
        http, sim, certificados["alfa"],
        evento(certificados, nfe.chave),  # 135
        evento(certificados, nfe.chave),  # 573: the same event again
        adulterado,  # 297
        evento(certificados, desconhecida, "210200"),  # 580: no such NF-e
        evento(certificados, nfe.chave, "210200", nome="beta"),  # 213: signed by another company
        evento(certificados, nfe.chave, "210200", ambiente=2),  # 252
    )  # fmt: skip

    assert (cstat, retornos) == (128, [135, 573, 297, 580, 213, 252])


def test_it_rejects_an_event_whose_author_is_not_the_transmitter_or_the_destinatario(sim, http, certificados,
                                                                                     emitente):  # fmt: skip
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(10))
    sim.publicar_para_destinatario(ALFA, nfe)

    assert manifestar(http, sim, certificados["beta"], evento(certificados, nfe.chave)) == (128, [213])
    assert manifestar(http, sim, certificados["beta"], evento(certificados, nfe.chave, nome="beta")) == (128, [575])


def test_it_rejects_a_lote_with_more_than_20_eventos(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(11))
    sim.publicar_para_destinatario(ALFA, nfe)

    assert manifestar(http, sim, certificados["alfa"], *[evento(certificados, nfe.chave)] * 21) == (215, [])


def test_it_registers_each_conclusive_manifestation_twice_and_the_ciencia_once(sim, http, certificados, emitente):
    # NT 2020.001 v1.50: nSeqEvento 1 and 2 for 210200/210220/210240; 210210 only 1 (594 beyond)
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(12))
    sim.publicar_para_destinatario(ALFA, nfe)
    enviar = lambda tipo, seq: manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave, tipo,  # noqa: E731
                                                                                  sequencia=seq))[1][0]  # fmt: skip

    assert [enviar("210200", 1), enviar("210220", 1), enviar("210200", 2)] == [135, 135, 135]
    assert [enviar("210200", 2), enviar("210200", 3), enviar("210220", 3)] == [573, 594, 594]
    assert [enviar("210210", 2), enviar("210210", 1)] == [594, 655]  # ciência after a conclusive one


def test_it_refuses_a_manifestation_past_180_days_from_the_authorization(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(13))
    sim.publicar_para_destinatario(ALFA, nfe)
    sim.avancar(dias=181)

    assert manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave, "210200")) == (128, [596])
    assert sim.eventos_registrados == []


# --- injected failures ------------------------------------------------------------------------------------


def test_it_injects_http_and_soap_failures_then_recovers(sim, http, certificados):
    corpo = envelope("nfe", dist_dfe(ult=0))
    sim.falhar_proximas(1, "http_503")
    sim.falhar_proximas(1, "soap_fault")
    sim.falhar_proximas(2, "cstat_108", servico="nfe")

    assert chamar(http, sim, "nfe", corpo, certificados["alfa"]).status_code == 503
    falha = chamar(http, sim, "nfe", corpo, certificados["alfa"])
    assert falha.status_code == 500 and b"Fault" in falha.content
    assert ler_retorno(chamar(http, sim, "nfe", corpo, certificados["alfa"]).content)["cstat"] == 108
    assert ler_retorno(chamar(http, sim, "nfe", corpo, certificados["alfa"]).content)["cstat"] == 108
    assert ler_retorno(chamar(http, sim, "nfe", corpo, certificados["alfa"]).content)["cstat"] == 137
    assert [c.falha for c in sim.chamadas] == ["http_503", "soap_fault", "cstat_108", "cstat_108", None]


def test_it_injects_a_dropped_connection_and_a_slow_answer(sim, http, certificados):
    corpo = envelope("nfe", dist_dfe(ult=0))
    sim.falhar_proximas(1, "queda")
    sim.falhar_proximas(1, "lenta", segundos=0.5)

    with pytest.raises(requests.exceptions.ConnectionError):
        chamar(http, sim, "nfe", corpo, certificados["alfa"])
    with pytest.raises(requests.exceptions.ReadTimeout):
        chamar(http, sim, "nfe", corpo, certificados["alfa"], timeout=0.2)


def test_it_loses_an_answer_it_gave_dropping_the_connection_or_answering_late(sim, http, certificados):
    resumos(sim, 5)
    sim.falhar_proximas(1, "perder_resposta")
    sim.falhar_proximas(1, "responder_tarde", segundos=0.5)

    with pytest.raises(requests.exceptions.ConnectionError):
        consultar(http, sim, certificados["alfa"], ult=0)
    assert sim.situacao(ALFA, "nfe").ult_nsu_retornado == 3  # the sequence moved on all the same
    with pytest.raises(requests.exceptions.ReadTimeout):
        chamar(http, sim, "nfe", envelope("nfe", dist_dfe(ult=3)), certificados["alfa"], timeout=0.2)
    assert sim.situacao(ALFA, "nfe").ult_nsu_retornado == 5
    assert [(c.falha, c.cstat) for c in sim.chamadas] == [("perder_resposta", 138), ("responder_tarde", 138)]


def test_it_delivers_gtve_and_cte_simplificado_in_cte_distribution(sim, http, certificados):
    from core.geracao.documentos import gerar_cte_simplificado, gerar_gtve

    beta = certificados["gerados"]["beta"]
    gtve = gerar_gtve(certificado=beta, remetente_documento=ALFA, rng=random.Random(7))
    simplificado = gerar_cte_simplificado(certificado=beta, tomador_documento=ALFA, rng=random.Random(8))
    sim.publicar(ALFA, "cte", gtve.xml)
    sim.publicar(ALFA, "cte", simplificado.xml)

    retorno = consultar(http, sim, certificados["alfa"], servico="cte", ult=0)

    assert retorno["documentos"] == [(1, "procGTVe_v4.00.xsd", gtve.xml), (2, "procCTeSimp_v4.00.xsd", simplificado.xml)]
    with pytest.raises(ValueError, match="não é distribuído pelo serviço nfe"):
        sim.publicar(ALFA, "nfe", gtve.xml)


def test_it_injects_cstat_999_in_the_event_service(sim, http, certificados, emitente):
    nfe = gerar_nfe(certificado=emitente, destinatario_documento=ALFA, rng=random.Random(12))
    sim.publicar_para_destinatario(ALFA, nfe)
    sim.falhar_proximas(1, "cstat_999", servico="evento")

    assert manifestar(http, sim, certificados["alfa"], evento(certificados, nfe.chave)) == (999, [])
    assert sim.eventos_registrados == []


# --- the command ------------------------------------------------------------------------------------------


def test_the_command_serves_until_stopped_with_a_certificate_and_documents(tmp_path, http):
    comando, saida, texto = ComandoSimulador(), [], io.StringIO()
    fio = threading.Thread(target=lambda: saida.append(call_command(
        comando, "--porta", "0", "--gerar-certificado", ALFA, "--saida", str(tmp_path), "--senha", "s3nha",
        "--documentos", "4", stdout=texto,
    )))  # fmt: skip
    fio.start()
    try:
        assert comando.pronto.wait(30)
        chave, certificado, _ = pkcs12.load_key_and_certificates((tmp_path / f"{ALFA}.pfx").read_bytes(), b"s3nha")
        par = _escrever(tmp_path, "pfx", certificado, chave)
        sim = comando.simulador
        retorno = consultar(http, sim, par, ult=0)
        assert (retorno["cstat"], retorno["max"]) == (138, 3)  # 3 resNFe (NF-e awaiting manifestação)
        assert consultar(http, sim, par, servico="cte", ult=0)["nsus"] == [1]  # and 1 CT-e
    finally:
        comando.parar.set()
        fio.join(10)

    assert f"SEFAZ_NFE_DISTRIBUICAO_URL={sim.url_nfe_distribuicao}" in texto.getvalue()
    assert f"SEFAZ_CA_BUNDLE={tmp_path}" in texto.getvalue()
    assert saida == ["Simulador parado: 2 chamada(s) atendida(s)."]
