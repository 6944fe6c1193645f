"""Does the signer's certificate chain to ICP-Brasil? Offline path building over a shipped trust store.

XMLDSig (core/documentos/xmldsig.py) proves that the document was signed by the key of the certificate
in its KeyInfo; anyone can make such a certificate. This module says whether that certificate was issued,
through ICP-Brasil's certification authorities, by a root of the Infraestrutura de Chaves Públicas
Brasileira (MP 2.200-2/2001), the only certificates SEFAZ accepts for NF-e/CT-e (MOC, "Padrão de
Certificado Digital").

What is checked, link by link from the leaf upwards:

- the issuer is found by name (compared as RFC 5280 §7.1 says: case and repeated spaces ignored, not
  byte for byte: ICP-Brasil certificates name their issuer in PrintableString while the issuer's own
  subject is UTF8String) among the shipped ACs, the extras of FISCAL_CADEIA_CERTIFICADOS_EXTRAS and the
  certificates the document itself brought (`intermediarios_der`); candidates whose key identifier
  (SKI) matches the child's AKI are tried first;
- the child's signature verifies with the candidate's public key (RSA PKCS#1 v1.5 or PSS, ECDSA, EdDSA;
  SHA-1 included: ICP-Brasil signed with it until v2, and every AC that did has expired, so no new
  SHA-1 signature can be obtained for a collision);
- the candidate is a certification authority: BasicConstraints cA=TRUE, keyCertSign when KeyUsage is
  present, and its pathLenConstraint is respected. Without this, the holder of any real e-CNPJ could
  issue a "Petrobras" certificate with their own leaf key and pass it as an intermediate;
- the path ends at a root of the trust store (the exact certificate, by its bytes): a self-signed
  certificate carried by the document is never trusted;
- at most PROFUNDIDADE_MAXIMA certificates, each candidate used once (no loops); the document's own
  certificates are bounded too (MAXIMO_INTERMEDIARIOS, MAXIMO_VERIFICACOES), so a KeyInfo full of
  look-alike certificates cannot make the search explode.

Dates: only when `momento` is given, and then every certificate of the path must be valid at that moment
(the shell model). Callers pass the moment the document was signed as far as they know it: the
protocol's dhRecbto is when SEFAZ itself checked the certificate (NF-e MOC, rejection 291 "Certificado
Assinatura Data Validade"); dhEmi when there is no protocol (a document dated just before its signer's
certificate was renewed then shows as not trusted). Imported documents are years older than today and
the ICP-Brasil ACs that signed them have since expired, so "valid now" would reject every old document.
What a forger gains from this: with the private key of a certificate that has expired (a leaked old A1),
a document dated inside that certificate's validity still chains. Nothing offline can tell a back-dated
signature from a real one; the SEFAZ authorization protocol and a consultation by chave are what vouch
for the date. Revocation (CRLs) is not checked: it needs the network, and a revoked A1 that signed
before its revocation still signed validly.

Public API: `verificar_cadeia`, `ResultadoCadeia`, `documentos_do_signatario`, `carregar_repositorio`,
`limpar_cache`; the data and its provenance are in `icp_brasil/` (FONTES.md), maintained with
`python manage.py cadeia_icp_brasil`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, UTC
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

from core.certificados.a1 import documentos_do_certificado

logger = logging.getLogger(__name__)

PASTA_ICP_BRASIL = Path(__file__).resolve().with_name("icp_brasil")
# Leaf + AC de 3º nível + AC de 2º nível + AC de 1º nível + raiz is the deepest ICP-Brasil path (5).
PROFUNDIDADE_MAXIMA = 6
# A document's KeyInfo is written by whoever made the file: bound what it can make us do. Real
# documents carry 0 to 3 certificates; a path needs 3 to 5 signature checks.
MAXIMO_INTERMEDIARIOS = 16
MAXIMO_VERIFICACOES = 64
_CABECALHO_PEM = b"-----BEGIN CERTIFICATE-----"


class RepositorioInvalido(ValueError):
    """A trust-store file cannot be used; the message names the file (and the setting, for extras)."""


@dataclass(frozen=True)
class ResultadoCadeia:
    """The verdict on one signer certificate.

    `confiavel`: the certificate chains to a trusted ICP-Brasil root. `autoassinado`: the leaf is its own
    issuer. `cadeia`: subjects (RFC 4514) from the leaf up to the root, or as far as the path got.
    `motivo`: why it is not trusted, in Portuguese ("" when trusted).
    """

    confiavel: bool
    autoassinado: bool = False
    cadeia: list[str] = field(default_factory=list)
    motivo: str = ""


@dataclass(frozen=True, eq=False)  # hashed by identity: a cache key for the verdicts made with it
class Repositorio:
    """The parsed trust store: roots (trust anchors) and every AC certificate indexed by subject."""

    raizes: frozenset[bytes]  # SHA-256 of the DER of each trusted root
    por_nome: dict[tuple, tuple[x509.Certificate, ...]]
    total: int = 0


# --- Public API ---------------------------------------------------------------------------------------


def verificar_cadeia(
    certificado_der: bytes,
    intermediarios_der: Sequence[bytes] = (),
    momento: datetime | None = None,
) -> ResultadoCadeia:
    """Whether `certificado_der` chains to a trusted ICP-Brasil root (see the module docstring).

    `intermediarios_der`: other certificates the document carried (KeyInfo), used only as candidate
    links, never as anchors. `momento`: when given (naive means UTC), every certificate of the path
    must be valid then. Never raises for a bad certificate: the result says what is wrong.
    """
    der, outros = bytes(certificado_der), tuple(bytes(d) for d in intermediarios_der or ())[:MAXIMO_INTERMEDIARIOS]
    repositorio = carregar_repositorio()
    sem_datas, caminho = _sem_datas(der, outros, repositorio)
    if momento is None or not sem_datas.confiavel:
        return replace(sem_datas, cadeia=list(sem_datas.cadeia))
    momento = _em_utc(momento)
    if not any(_fora_da_validade(c, momento) for c in caminho):
        return replace(sem_datas, cadeia=list(sem_datas.cadeia))
    # The usual path has a certificate out of date then: search again with the dates (another path,
    # or the reason). Rare, so not cached.
    return verificar_no_repositorio(caminho[0], repositorio, _ler_varios(outros), momento)


def verificar_no_repositorio(
    folha: x509.Certificate,
    repositorio: Repositorio,
    intermediarios: Sequence[x509.Certificate] = (),
    momento: datetime | None = None,
) -> ResultadoCadeia:
    """`verificar_cadeia` against a given store (the import command checks candidates this way)."""
    momento = _em_utc(momento)
    if _autoassinado(folha):
        return ResultadoCadeia(False, autoassinado=True, cadeia=[_sujeito(folha)], motivo="certificado autoassinado")
    fora = _fora_da_validade(folha, momento)
    if fora:
        return ResultadoCadeia(False, cadeia=[_sujeito(folha)], motivo=fora)
    busca = _Busca(repositorio, _indexar(list(intermediarios)[:MAXIMO_INTERMEDIARIOS]), momento)
    caminho = busca.construir([folha])
    if caminho:
        return ResultadoCadeia(True, cadeia=[_sujeito(c) for c in caminho])
    return ResultadoCadeia(False, cadeia=[_sujeito(c) for c in busca.mais_longo], motivo=busca.motivo)


@lru_cache(maxsize=1024)
def _sem_datas(
    der: bytes, outros: tuple[bytes, ...], repositorio: Repositorio
) -> tuple[ResultadoCadeia, tuple[x509.Certificate, ...]]:
    # A company signs all its documents with one certificate: a batch import asks the same question
    # thousands of times. Keyed by the exact bytes and the store itself (a new store, a new key).
    try:
        folha = x509.load_der_x509_certificate(der)
    except ValueError:
        return ResultadoCadeia(False, motivo="o certificado do signatário está ilegível (DER inválido)"), ()
    if _autoassinado(folha):
        return ResultadoCadeia(False, True, [_sujeito(folha)], "certificado autoassinado"), ()
    busca = _Busca(repositorio, _indexar(_ler_varios(outros)), None)
    caminho = busca.construir([folha])
    if caminho:
        return ResultadoCadeia(True, cadeia=[_sujeito(c) for c in caminho]), tuple(caminho)
    return ResultadoCadeia(False, cadeia=[_sujeito(c) for c in busca.mais_longo], motivo=busca.motivo), ()


def montar_repositorio(certificados: Iterable[x509.Certificate]) -> Repositorio:
    """A store from certificates: the self-signed ones are the roots, the others candidate links."""
    certificados = list(certificados)
    raizes = frozenset(_digest(c) for c in certificados if _autoassinado(c))
    return Repositorio(raizes=raizes, por_nome=_indexar(certificados), total=len(certificados))


def documentos_do_signatario(certificado_der: bytes) -> tuple[str, str]:
    """(CNPJ, CPF) of the signer, each "" when absent (ICP-Brasil otherNames, else the CN "NOME:DOC")."""
    try:
        return documentos_do_certificado(x509.load_der_x509_certificate(bytes(certificado_der)))
    except ValueError:
        return "", ""


def carregar_repositorio() -> Repositorio:
    """The shipped ICP-Brasil certificates plus FISCAL_CADEIA_CERTIFICADOS_EXTRAS, parsed once.

    Cached per value of the setting (and per size/mtime of each extra file), so changing the setting
    in a test or rewriting an extra file is seen without calling `limpar_cache()`.
    """
    return _carregar(PASTA_ICP_BRASIL, _assinatura_dos_extras())


def limpar_cache() -> None:
    """Forget the parsed trust store and the cached verdicts (after changing the shipped folder in place)."""
    _da_pasta.cache_clear()
    _carregar.cache_clear()
    _sem_datas.cache_clear()


def ler_certificados(dados: bytes) -> list[x509.Certificate]:
    """Every certificate in `dados`: one or more PEM blocks, or a single DER certificate."""
    dados = bytes(dados)
    if _CABECALHO_PEM in dados:
        return x509.load_pem_x509_certificates(dados)
    return [x509.load_der_x509_certificate(dados)]


def certificados_da_pasta(pasta: Path = PASTA_ICP_BRASIL) -> list[tuple[Path, x509.Certificate]]:
    """(file, certificate) for every *.pem of a trust-store folder, in name order."""
    return [(arquivo, certificado) for arquivo in sorted(pasta.glob("*.pem")) for certificado in _ler_arquivo(arquivo)]


def impressao_digital(certificado: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, hex: how FONTES.md identifies each file."""
    return hashlib.sha256(certificado.public_bytes(serialization.Encoding.DER)).hexdigest()


def nome_comum(nome: x509.Name) -> str:
    atributos = nome.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(atributos[0].value).strip() if atributos else nome.rfc4514_string()


def assinado_por(certificado: x509.Certificate, emissor: x509.Certificate) -> bool:
    """Whether `emissor`'s public key verifies `certificado`'s signature (names are not compared here).

    Not `Certificate.verify_directly_issued_by`: it compares the names byte for byte (real ICP-Brasil
    pairs differ in string type) and refuses SHA-1, which every pre-2012 ICP-Brasil certificate uses.
    """
    try:
        chave = emissor.public_key()
        parametros = certificado.signature_algorithm_parameters
        dados, assinatura = certificado.tbs_certificate_bytes, certificado.signature
        if isinstance(chave, rsa.RSAPublicKey):
            chave.verify(assinatura, dados, parametros, certificado.signature_hash_algorithm)
        elif isinstance(chave, ec.EllipticCurvePublicKey):
            chave.verify(assinatura, dados, parametros)
        elif isinstance(chave, dsa.DSAPublicKey):
            chave.verify(assinatura, dados, certificado.signature_hash_algorithm)
        elif isinstance(chave, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            chave.verify(assinatura, dados)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def chave_do_nome(nome: x509.Name) -> tuple:
    """A distinguished name for comparison: per RDN, (OID, value case-folded with spaces collapsed)."""
    return tuple(tuple(sorted((a.oid.dotted_string, _normalizar(a.value)) for a in rdn)) for rdn in nome.rdns)


def _normalizar(valor) -> str:
    return " ".join(str(valor).split()).casefold()


# --- Path building ------------------------------------------------------------------------------------


class _Busca:
    """Depth-first search for a path to a trusted root; remembers the longest failed path and why."""

    def __init__(self, repositorio: Repositorio, trazidos: dict[tuple, tuple[x509.Certificate, ...]], momento):
        self.repositorio, self.trazidos, self.momento = repositorio, trazidos, momento
        self.mais_longo: list[x509.Certificate] = []
        self.motivo = ""
        self.verificacoes = 0

    def construir(self, caminho: list[x509.Certificate]) -> list[x509.Certificate] | None:
        try:
            return self._construir(caminho)
        except _TrabalhoDemais:
            self.mais_longo = list(caminho)
            self.motivo = (
                f"os certificados trazidos pelo documento exigem mais de {MAXIMO_VERIFICACOES} verificações "
                "de assinatura para montar a cadeia"
            )
            return None

    def _assinado(self, certificado: x509.Certificate, emissor: x509.Certificate) -> bool:
        # Many look-alike certificates (same name, same key) would otherwise multiply the paths tried.
        self.verificacoes += 1
        if self.verificacoes > MAXIMO_VERIFICACOES:
            raise _TrabalhoDemais
        return assinado_por(certificado, emissor)

    def _construir(self, caminho: list[x509.Certificate]) -> list[x509.Certificate] | None:
        atual = caminho[-1]
        if len(caminho) > 1 and _autoassinado(atual, self._assinado):
            if _digest(atual) in self.repositorio.raizes:
                return caminho
            return self._falhar(caminho, f"a cadeia termina em {_cn(atual)}, que não é uma raiz ICP-Brasil confiável")
        if len(caminho) >= PROFUNDIDADE_MAXIMA:
            return self._falhar(caminho, f"a cadeia passa de {PROFUNDIDADE_MAXIMA} certificados")
        candidatos = self._candidatos(atual, caminho)
        if not candidatos:
            return self._falhar(caminho, f"emissor {_cn_emissor(atual)} não pertence à cadeia ICP-Brasil conhecida")
        motivo = f"assinatura do certificado {_cn(atual)} não confere com o emissor {_cn_emissor(atual)}"
        for candidato in candidatos:
            if not self._assinado(atual, candidato):
                continue
            recusa = _recusa_como_emissor(candidato, len(caminho) - 1) or _fora_da_validade(candidato, self.momento)
            if recusa:
                motivo = recusa
                continue
            completo = self._construir([*caminho, candidato])
            if completo:
                return completo
            motivo = ""  # a deeper failure already explained itself
        return self._falhar(caminho, motivo) if motivo else None

    def _candidatos(self, atual: x509.Certificate, caminho: list[x509.Certificate]) -> list[x509.Certificate]:
        vistos = {_digest(c) for c in caminho}
        nome = chave_do_nome(atual.issuer)
        todos, unicos = [*self.repositorio.por_nome.get(nome, ()), *self.trazidos.get(nome, ())], {}
        for candidato in todos:
            unicos.setdefault(_digest(candidato), candidato)
        aki = _identificador_da_autoridade(atual)
        # Matching key identifiers first: an AC renewed under the same name has several certificates.
        return sorted(
            (c for d, c in unicos.items() if d not in vistos),
            key=lambda c: 0 if aki and _identificador_da_chave(c) == aki else 1,
        )

    def _falhar(self, caminho: list[x509.Certificate], motivo: str) -> None:
        if len(caminho) >= len(self.mais_longo):
            self.mais_longo, self.motivo = list(caminho), motivo
        return None


def _recusa_como_emissor(candidato: x509.Certificate, acs_abaixo: int) -> str:
    """Why `candidato` may not issue a certificate with `acs_abaixo` CA certificates below it, or ""."""
    try:
        restricoes = candidato.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        restricoes = None
    except ValueError:
        return f"o certificado {_cn(candidato)} tem extensões ilegíveis"
    if restricoes is None or not restricoes.ca:
        return f"o emissor {_cn(candidato)} não é uma autoridade certificadora (BasicConstraints sem cA)"
    if restricoes.path_length is not None and acs_abaixo > restricoes.path_length:
        return f"a autoridade {_cn(candidato)} não pode ter {acs_abaixo} AC(s) abaixo dela (pathLenConstraint)"
    try:
        uso = candidato.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return ""
    if not uso.key_cert_sign:
        return f"a chave de {_cn(candidato)} não pode assinar certificados (KeyUsage sem keyCertSign)"
    return ""


def _fora_da_validade(certificado: x509.Certificate, momento: datetime | None) -> str:
    if momento is None:
        return ""
    inicio, fim = certificado.not_valid_before_utc, certificado.not_valid_after_utc
    if inicio <= momento <= fim:
        return ""
    return (
        f"o certificado {_cn(certificado)} não era válido em {momento:%d/%m/%Y %H:%M} UTC "
        f"(validade de {inicio:%d/%m/%Y} a {fim:%d/%m/%Y})"
    )


class _TrabalhoDemais(Exception):
    pass


def _autoassinado(certificado: x509.Certificate, verificar=assinado_por) -> bool:
    return chave_do_nome(certificado.subject) == chave_do_nome(certificado.issuer) and verificar(
        certificado, certificado
    )


def _identificador_da_autoridade(certificado: x509.Certificate) -> bytes | None:
    try:
        return certificado.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None


def _identificador_da_chave(certificado: x509.Certificate) -> bytes | None:
    try:
        return certificado.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


# --- The trust store ----------------------------------------------------------------------------------


def _assinatura_dos_extras() -> tuple[tuple[str, int, int], ...]:
    extras = getattr(settings, "FISCAL_CADEIA_CERTIFICADOS_EXTRAS", ()) or ()
    if isinstance(extras, str):
        extras = extras.split(",")
    assinatura = []
    for caminho in (str(c).strip() for c in extras):
        if not caminho:
            continue
        try:
            estado = os.stat(caminho)
        except OSError:
            raise RepositorioInvalido(
                f"FISCAL_CADEIA_CERTIFICADOS_EXTRAS: o arquivo {caminho} não existe ou não pode ser lido"
            ) from None
        assinatura.append((caminho, estado.st_mtime_ns, estado.st_size))
    return tuple(assinatura)


@lru_cache(maxsize=8)
def _carregar(pasta: Path, extras: tuple[tuple[str, int, int], ...]) -> Repositorio:
    certificados = list(_da_pasta(pasta))
    for caminho, _, _ in extras:
        try:
            certificados += _ler_arquivo(Path(caminho))
        except RepositorioInvalido as erro:
            raise RepositorioInvalido(f"FISCAL_CADEIA_CERTIFICADOS_EXTRAS: {erro}") from None
    repositorio = montar_repositorio(certificados)
    logger.debug("cadeia ICP-Brasil: %s certificados, %s raízes", repositorio.total, len(repositorio.raizes))
    return repositorio


@lru_cache(maxsize=2)
def _da_pasta(pasta: Path) -> tuple[x509.Certificate, ...]:
    return tuple(c for _, c in certificados_da_pasta(pasta))


def _ler_arquivo(arquivo: Path) -> list[x509.Certificate]:
    try:
        dados = arquivo.read_bytes()
    except OSError as erro:
        raise RepositorioInvalido(f"o arquivo {arquivo} não pode ser lido ({erro.strerror})") from None
    try:
        certificados = ler_certificados(dados)
    except ValueError:
        certificados = []
    if not certificados:
        raise RepositorioInvalido(f"o arquivo {arquivo} não contém um certificado X.509 (PEM ou DER) legível")
    return certificados


def _ler_varios(ders: Iterable[bytes]) -> list[x509.Certificate]:
    lidos = []
    for der in ders or ():
        try:
            lidos.append(x509.load_der_x509_certificate(bytes(der)))
        except ValueError:
            continue  # an unreadable extra certificate just offers no link
    return lidos


def _indexar(certificados: Iterable[x509.Certificate]) -> dict[tuple, tuple[x509.Certificate, ...]]:
    indice: dict[tuple, list[x509.Certificate]] = {}
    for certificado in certificados:
        indice.setdefault(chave_do_nome(certificado.subject), []).append(certificado)
    return {nome: tuple(lista) for nome, lista in indice.items()}


def _digest(certificado: x509.Certificate) -> bytes:
    return certificado.fingerprint(hashes.SHA256())


def _em_utc(momento: datetime | None) -> datetime | None:
    if momento is None:
        return None
    return momento.replace(tzinfo=UTC) if momento.tzinfo is None else momento.astimezone(UTC)


def _sujeito(certificado: x509.Certificate) -> str:
    return certificado.subject.rfc4514_string()


def _cn(certificado: x509.Certificate) -> str:
    return f'"{nome_comum(certificado.subject)}"'


def _cn_emissor(certificado: x509.Certificate) -> str:
    return f'"{nome_comum(certificado.issuer)}"'
