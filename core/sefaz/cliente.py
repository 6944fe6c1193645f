"""The SOAP client of the Ambiente Nacional services, over mutual TLS with the company's A1 certificate.

One `ClienteSEFAZ` per certificate and ambiente. It only speaks the protocol: it builds the data
messages (`distDFeInt`, `envEvento`), calls the service with zeep, and returns what SEFAZ answered as
plain dataclasses. What to do with an answer (store, wait, block) is `core.sefaz.distribuicao`'s job.

- WSDLs ship in core/sefaz/wsdl/; nothing is downloaded at run time.
- TLS ≥ 1.2; the server is verified against `SEFAZ_CA_BUNDLE` (default: certifi). The session never
  reads REQUESTS_CA_BUNDLE/SSL_CERT_FILE/proxies from the environment (with `trust_env`, requests lets
  REQUESTS_CA_BUNDLE replace `Session.verify`).
- The private key reaches OpenSSL through a PEM file encrypted with a one-off passphrase, in a private
  temporary directory removed at once: the plain key never touches the disk.
- Bodies are posted as UTF-8 bytes (the services read the XML declaration's encoding, and xJust/xNome may
  carry accents).
"""

from __future__ import annotations

import base64
import gzip
import logging
import os
import secrets
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import certifi
import requests
import zeep
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from lxml import etree
from requests.adapters import HTTPAdapter
from zeep.exceptions import Fault, TransportError

logger = logging.getLogger(__name__)

NS_NFE = "http://www.portalfiscal.inf.br/nfe"
NS_CTE = "http://www.portalfiscal.inf.br/cte"
WSDL = Path(__file__).resolve().parent / "wsdl"
GZIP = b"\x1f\x8b"

URLS_PADRAO = {
    ("nfe", 1): "https://www1.nfe.fazenda.gov.br/NFeDistribuicaoDFe/NFeDistribuicaoDFe.asmx",
    ("nfe", 2): "https://hom1.nfe.fazenda.gov.br/NFeDistribuicaoDFe/NFeDistribuicaoDFe.asmx",
    ("cte", 1): "https://www1.cte.fazenda.gov.br/CTeDistribuicaoDFe/CTeDistribuicaoDFe.asmx",
    ("cte", 2): "https://hom1.cte.fazenda.gov.br/CTeDistribuicaoDFe/CTeDistribuicaoDFe.asmx",
    ("evento", 1): "https://www.nfe.fazenda.gov.br/NFeRecepcaoEvento4/NFeRecepcaoEvento4.asmx",
    ("evento", 2): "https://hom1.nfe.fazenda.gov.br/NFeRecepcaoEvento4/NFeRecepcaoEvento4.asmx",
}
CONFIGURACAO_DA_URL = {"nfe": "SEFAZ_NFE_DISTRIBUICAO_URL", "cte": "SEFAZ_CTE_DISTRIBUICAO_URL", "evento": "SEFAZ_NFE_EVENTO_URL"}
_SERVICOS = {
    "nfe": ("nfe_distribuicao_dfe.wsdl", "nfeDistDFeInteresse", "nfeDadosMsg", NS_NFE, "1.01"),
    "cte": ("cte_distribuicao_dfe.wsdl", "cteDistDFeInteresse", "cteDadosMsg", NS_CTE, "1.00"),
}
# TLS alerts by which the SERVER says it refuses our certificate: a person must act (renew, re-export).
_ALERTAS_DE_CERTIFICADO = (
    "certificate unknown", "bad certificate", "certificate expired", "certificate revoked", "unknown ca",
    "unsupported certificate", "access denied", "certificate required",
)  # fmt: skip


class FalhaDeComunicacao(Exception):
    """No usable answer from SEFAZ (network, TLS, HTTP or SOAP fault). `permanente`: retrying won't help.

    `talvez_processada`: the request was sent and SEFAZ may have answered it (a read timeout, the
    connection reset or closed before the answer): for distNSU the sequence may have moved on.
    """

    def __init__(self, motivo: str, *, permanente: bool = False, talvez_processada: bool = False):
        super().__init__(motivo)
        self.motivo = motivo
        self.permanente = permanente
        self.talvez_processada = talvez_processada


@dataclass(frozen=True)
class DocumentoDistribuido:
    nsu: int | None
    schema: str
    xml: bytes


@dataclass(frozen=True)
class DocZipIlegivel:
    """A docZip whose base64/gzip could not be decoded: its text as received is kept with its NSU."""

    nsu: int | None
    motivo: str
    bruto: bytes

    def __str__(self) -> str:
        return self.motivo


@dataclass(frozen=True)
class RespostaDistribuicao:
    cstat: int
    xmotivo: str
    ult_nsu: int | None
    max_nsu: int | None
    documentos: list[DocumentoDistribuido] = field(default_factory=list)
    duracao_ms: int = 0
    erros: list[DocZipIlegivel] = field(default_factory=list)  # docZips that could not be decoded


@dataclass(frozen=True)
class RetornoEvento:
    chave: str
    tipo_evento: str
    sequencia: int
    cstat: int
    xmotivo: str
    protocolo: str
    registrado_em: str
    xml: bytes  # the retEvento element, to be stored with the event it answers


@dataclass(frozen=True)
class RespostaEvento:
    cstat: int
    xmotivo: str
    retornos: list[RetornoEvento]
    duracao_ms: int


def url_do_servico(servico: str, ambiente: int) -> str:
    return getattr(settings, CONFIGURACAO_DA_URL[servico], "") or URLS_PADRAO[(servico, ambiente)]


class ClienteSEFAZ:
    def __init__(self, a1, ambiente: int, *, timeout: float | None = None):
        self.a1, self.ambiente = a1, int(ambiente)
        self.timeout = timeout or float(getattr(settings, "SEFAZ_TIMEOUT_SEGUNDOS", 30))
        self._sessao = _sessao_tls(a1)
        self._clientes: dict[str, zeep.Client] = {}

    def fechar(self) -> None:
        self._sessao.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fechar()

    # --- DistribuicaoDFe ------------------------------------------------------------------------

    def distribuicao(
        self, servico: str, documento: str, uf: str, *, ult_nsu: int | None = None, nsu: int | None = None,
        chave: str = "",
    ) -> RespostaDistribuicao:  # fmt: skip
        """One distNSU (ult_nsu), consNSU (nsu) or consChNFe (chave) call."""
        _wsdl, operacao, parametro, ns, versao = _SERVICOS[servico]
        pedido = montar_dist_dfe(
            ns, versao, ambiente=self.ambiente, uf=uf, documento=documento, ult_nsu=ult_nsu, nsu=nsu, chave=chave
        )
        resposta, duracao_ms = self._chamar(servico, operacao, {parametro: {"_value_1": pedido}})
        retorno = _primeiro(resposta, "retDistDFeInt")
        return ler_ret_dist_dfe(retorno, duracao_ms)

    # --- NFeRecepcaoEvento4 ---------------------------------------------------------------------

    def enviar_eventos(self, eventos: list[etree._Element], id_lote: int) -> RespostaEvento:
        """Send signed `evento` elements (1 to 20) in one envEvento."""
        if not 1 <= len(eventos) <= 20:
            raise ValueError("um lote de eventos tem de 1 a 20 eventos")
        env = etree.Element(f"{{{NS_NFE}}}envEvento", nsmap={None: NS_NFE}, versao="1.00")
        etree.SubElement(env, f"{{{NS_NFE}}}idLote").text = str(id_lote)
        for evento in eventos:
            env.append(evento)
        resposta, duracao_ms = self._chamar("evento", "nfeRecepcaoEvento", {"_value_1": env})
        return ler_ret_env_evento(_primeiro(resposta, "retEnvEvento"), duracao_ms)

    # --- transport ------------------------------------------------------------------------------

    def _cliente(self, servico: str) -> zeep.Client:
        if servico not in self._clientes:
            arquivo = "nfe_recepcao_evento4.wsdl" if servico == "evento" else _SERVICOS[servico][0]
            transporte = zeep.Transport(session=self._sessao, timeout=self.timeout, operation_timeout=self.timeout)
            cliente = zeep.Client(str(WSDL / arquivo), transport=transporte)
            binding = next(iter(cliente.wsdl.bindings))
            self._clientes[servico] = cliente.create_service(binding, url_do_servico(servico, self.ambiente))
        return self._clientes[servico]

    def _chamar(self, servico: str, operacao: str, argumentos: dict):
        inicio = time.monotonic()
        try:
            resultado = getattr(self._cliente(servico), operacao)(**argumentos)
        except Fault as erro:
            raise FalhaDeComunicacao(f"SOAP Fault da SEFAZ: {erro.message}") from None
        except TransportError as erro:
            raise FalhaDeComunicacao(f"HTTP {erro.status_code} da SEFAZ") from None
        except requests.exceptions.SSLError as erro:
            raise _falha_tls(erro) from None
        except requests.exceptions.ConnectTimeout:
            raise FalhaDeComunicacao(f"a SEFAZ não aceitou a conexão em {self.timeout:g} s") from None
        except requests.exceptions.Timeout:
            raise FalhaDeComunicacao(f"a SEFAZ não respondeu em {self.timeout:g} s", talvez_processada=True) from None
        except requests.exceptions.ConnectionError as erro:
            raise FalhaDeComunicacao(
                f"falha de conexão com a SEFAZ: {_causa(erro)}", talvez_processada=not _antes_de_enviar(erro)
            ) from None
        except etree.XMLSyntaxError as erro:
            raise FalhaDeComunicacao(f"resposta da SEFAZ não é XML válido: {erro}") from None
        return resultado, int((time.monotonic() - inicio) * 1000)


# --- messages -------------------------------------------------------------------------------------


def montar_dist_dfe(
    ns: str, versao: str, *, ambiente: int, uf: str, documento: str, ult_nsu=None, nsu=None, chave=""
) -> etree._Element:
    """distDFeInt with a default namespace (a prefix gives cStat 404) and 15-digit NSUs."""
    raiz = etree.Element(f"{{{ns}}}distDFeInt", nsmap={None: ns}, versao=versao)
    etree.SubElement(raiz, f"{{{ns}}}tpAmb").text = str(ambiente)
    etree.SubElement(raiz, f"{{{ns}}}cUFAutor").text = str(uf)
    etree.SubElement(raiz, f"{{{ns}}}{'CPF' if len(documento) == 11 else 'CNPJ'}").text = documento
    if chave:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}consChNFe"), f"{{{ns}}}chNFe").text = chave
    elif nsu is not None:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}consNSU"), f"{{{ns}}}NSU").text = f"{int(nsu):015d}"
    else:
        etree.SubElement(etree.SubElement(raiz, f"{{{ns}}}distNSU"), f"{{{ns}}}ultNSU").text = f"{int(ult_nsu or 0):015d}"
    return raiz


def ler_ret_dist_dfe(retorno: etree._Element, duracao_ms: int = 0) -> RespostaDistribuicao:
    documentos, erros = [], []
    for doc_zip in retorno.iter("{*}docZip"):
        nsu = _inteiro(doc_zip.get("NSU"))
        try:
            conteudo = base64.b64decode(doc_zip.text or "", validate=True)
            xml = gzip.decompress(conteudo) if conteudo[:2] == GZIP else conteudo
        except (ValueError, OSError, EOFError) as erro:
            bruto = (doc_zip.text or "").encode("ascii", "replace")
            erros.append(DocZipIlegivel(nsu, f"NSU {nsu}: docZip ilegível ({erro})", bruto))
            continue
        documentos.append(DocumentoDistribuido(nsu, doc_zip.get("schema", ""), xml))
    return RespostaDistribuicao(
        cstat=int(_texto(retorno, "cStat") or 0), xmotivo=_texto(retorno, "xMotivo"),
        ult_nsu=_inteiro(_texto(retorno, "ultNSU")), max_nsu=_inteiro(_texto(retorno, "maxNSU")),
        documentos=documentos, duracao_ms=duracao_ms, erros=erros,
    )  # fmt: skip


def ler_ret_env_evento(retorno: etree._Element, duracao_ms: int = 0) -> RespostaEvento:
    retornos = []
    for ret in retorno.iter("{*}retEvento"):
        inf = ret.find("{*}infEvento")
        retornos.append(RetornoEvento(
            chave=_texto(inf, "chNFe"), tipo_evento=_texto(inf, "tpEvento"), sequencia=_inteiro(_texto(inf, "nSeqEvento")) or 1,
            cstat=int(_texto(inf, "cStat") or 0), xmotivo=_texto(inf, "xMotivo"), protocolo=_texto(inf, "nProt"),
            registrado_em=_texto(inf, "dhRegEvento"), xml=etree.tostring(ret),
        ))  # fmt: skip
    return RespostaEvento(int(_texto(retorno, "cStat") or 0), _texto(retorno, "xMotivo"), retornos, duracao_ms)


def _primeiro(resposta, nome: str) -> etree._Element:
    """The `nome` element inside a zeep result of mixed content (an element, or an object holding one)."""
    candidatos = [resposta, getattr(resposta, "_value_1", None)]
    if isinstance(resposta, (list, tuple)):
        candidatos += list(resposta)
    for candidato in candidatos:
        if isinstance(candidato, etree._Element):
            if etree.QName(candidato).localname == nome:
                return candidato
            encontrado = next(candidato.iter(f"{{*}}{nome}"), None)
            if encontrado is not None:
                return encontrado
    raise FalhaDeComunicacao(f"resposta da SEFAZ sem {nome}")


def _texto(elemento, nome: str) -> str:
    if elemento is None:
        return ""
    filho = elemento.find(f"{{*}}{nome}")
    return (filho.text or "").strip() if filho is not None else ""


def _inteiro(texto: str | None) -> int | None:
    return int(texto) if texto and texto.strip().isdigit() else None


# --- TLS ------------------------------------------------------------------------------------------


class _AdaptadorTLS(HTTPAdapter):
    """Every connection of the session uses our context (client certificate, TLS ≥ 1.2)."""

    def __init__(self, contexto: ssl.SSLContext, **kwargs):
        self._contexto = contexto
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._contexto
        return super().init_poolmanager(*args, **kwargs)


def _sessao_tls(a1) -> requests.Session:
    sessao = requests.Session()
    sessao.trust_env = False  # no REQUESTS_CA_BUNDLE, SSL_CERT_FILE or *_PROXY from the environment
    sessao.verify = ca_bundle()
    sessao.headers["User-Agent"] = "fiscal-sefaz/1.0"
    sessao.mount("https://", _AdaptadorTLS(contexto_tls(a1)))
    sessao.mount("http://", HTTPAdapter())  # tests of refusal only: SEFAZ is always https
    return sessao


def ca_bundle() -> str:
    return str(getattr(settings, "SEFAZ_CA_BUNDLE", "") or certifi.where())


def contexto_tls(a1) -> ssl.SSLContext:
    contexto = ssl.create_default_context(cafile=ca_bundle())
    contexto.minimum_version = ssl.TLSVersion.TLSv1_2
    senha = secrets.token_bytes(32)
    pem = a1.chave_privada.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(senha)
    )
    pem += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [a1.certificado, *a1.cadeia])
    with tempfile.TemporaryDirectory(prefix="fiscal-a1-") as pasta:
        caminho = os.path.join(pasta, "a1.pem")
        descritor = os.open(caminho, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descritor, "wb") as arquivo:
            arquivo.write(pem)
        contexto.load_cert_chain(caminho, password=senha)
    return contexto


def _falha_tls(erro: Exception) -> FalhaDeComunicacao:
    texto = _causa(erro)
    baixo = texto.lower()
    if any(alerta in baixo for alerta in _ALERTAS_DE_CERTIFICADO):
        return FalhaDeComunicacao(f"a SEFAZ recusou o certificado na conexão TLS: {texto}", permanente=True)
    if "certificate verify failed" in baixo:
        return FalhaDeComunicacao(
            f"o certificado do servidor da SEFAZ não foi reconhecido (confira SEFAZ_CA_BUNDLE): {texto}"
        )
    return FalhaDeComunicacao(f"falha TLS com a SEFAZ: {texto}")


def _antes_de_enviar(erro: Exception) -> bool:
    """True when the connection never opened (refused, DNS, connect timeout): SEFAZ never saw the request."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, NameResolutionError

    vistos, pendentes = set(), [erro]
    while pendentes:
        atual = pendentes.pop()
        if id(atual) in vistos:
            continue
        vistos.add(id(atual))
        if isinstance(atual, (NewConnectionError, ConnectTimeoutError, NameResolutionError, ConnectionRefusedError)):
            return True
        pendentes += [a for a in getattr(atual, "args", ()) if isinstance(a, BaseException)]
        pendentes += [c for c in (atual.__context__, atual.__cause__, getattr(atual, "reason", None)) if c is not None]
    return False


def _causa(erro: Exception) -> str:
    atual = erro
    while atual.__context__ is not None and not isinstance(atual, ssl.SSLError):
        atual = atual.__context__
    for argumento in getattr(atual, "args", ()):
        if isinstance(argumento, Exception):
            return _causa(argumento)
    return str(atual)
