"""XMLDSig for the fixed SEFAZ profile (NF-e, CT-e, CT-e OS, events).

The profile (the ``xmldsig-core-schema_v1.01.xsd`` of the official NF-e/CT-e schema packages, as shipped by
nfelib, which fixes the algorithms; Manual de Orientação do Contribuinte NF-e, "Padrão de Assinatura
Digital"): an enveloped ``Signature`` that is a
child of the signed element's parent, one ``Reference`` to ``#Id``, transforms exactly
enveloped-signature + inclusive C14N 1.0, RSA PKCS#1 v1.5 with SHA-1 (SHA-256 also accepted) and the
signer's certificate in ``KeyInfo/X509Data/X509Certificate``.

Written on lxml + cryptography instead of signxml: about 3x faster and needs no option juggling.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from core.documentos.dados import Assinatura

DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

_METODOS_ASSINATURA = {RSA_SHA1: hashes.SHA1, RSA_SHA256: hashes.SHA256}
_METODOS_DIGEST = {SHA1: hashlib.sha1, SHA256: hashlib.sha256}
_ALGORITMOS = {"sha1": (RSA_SHA1, SHA1), "sha256": (RSA_SHA256, SHA256)}
_TRANSFORMS = [ENVELOPED, C14N]

_SIGNATURE = f"{{{DS}}}Signature"
_SIGNED_INFO = f"{{{DS}}}SignedInfo"
_CANON = f"{{{DS}}}CanonicalizationMethod"
_SIG_METHOD = f"{{{DS}}}SignatureMethod"
_REFERENCE = f"{{{DS}}}Reference"
_TRANSFORM = f"{{{DS}}}Transforms/{{{DS}}}Transform"
_DIGEST_METHOD = f"{{{DS}}}DigestMethod"
_DIGEST_VALUE = f"{{{DS}}}DigestValue"
_SIG_VALUE = f"{{{DS}}}SignatureValue"
_CERTIFICADO = f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"

_CONTAR_ID = etree.XPath("count(.//*[@Id=$id])")


class AssinaturaInvalida(ValueError):
    """The signature is missing, outside the SEFAZ profile or does not verify (message in Portuguese)."""


def canonicalizar(elemento: etree._Element) -> bytes:
    """Inclusive C14N 1.0 of an element as if it were the apex of the node-set.

    lxml's c14n of an element inside a tree whose default namespace is declared on an ancestor emits
    stray ``xmlns=""`` on descendants (the same lxml behaviour signxml works around: signxml issue #275).
    Serialising first copies every in-scope namespace
    declaration onto the element; re-parsing that gives a standalone tree whose c14n is right.
    """
    copia = etree.fromstring(etree.tostring(elemento))
    return etree.tostring(copia, method="c14n")


def verificar_assinatura(assinado: etree._Element, *, conferir_ids: bool = True) -> Assinatura:
    """Verify the enveloped signature of ``assinado`` (infNFe, infCte, infEvento, infCanc).

    Only cryptographic integrity is checked here; who signed (CNPJ of the emitter, ICP-Brasil chain) is
    `core.documentos.signatario`'s job. ``assinado`` must be the node located by
    `core.documentos.leitura.localizar`, the same one the readers read; `localizar` already refused a
    repeated signed Id anywhere in the file, so the pipeline passes ``conferir_ids=False``.
    """
    id_assinado = assinado.get("Id")
    pai = assinado.getparent()
    if not id_assinado or pai is None:
        raise AssinaturaInvalida("elemento assinado sem Id ou sem elemento pai")
    assinatura = _unica_assinatura(pai)
    signed_info = _filho(assinatura, _SIGNED_INFO, "SignedInfo")
    hash_assinatura = _metodo_assinatura(signed_info)
    referencia = _referencia(signed_info, id_assinado)
    if conferir_ids:
        _recusar_id_duplicado(pai, id_assinado)
    digest_value = _conferir_digest(assinado, referencia)
    certificado_der = _conferir_rsa(assinatura, signed_info, hash_assinatura)
    return Assinatura(
        digest_value=digest_value, certificado_der=certificado_der, intermediarios_der=_outros_certificados(assinatura)
    )


def digest_value_de(assinado: etree._Element) -> str:
    """DigestValue of the signature over ``assinado``, without verifying; "" when unsigned."""
    pai = assinado.getparent()
    assinatura = pai.find(_SIGNATURE) if pai is not None else None
    if assinatura is None:
        return ""
    return (assinatura.findtext(f"{_SIGNED_INFO}/{_REFERENCE}/{_DIGEST_VALUE}") or "").strip()


def assinar(
    assinado: etree._Element,
    chave_privada: rsa.RSAPrivateKey,
    certificado: x509.Certificate,
    algoritmo: str = "sha1",
) -> None:
    """Sign ``assinado`` in the SEFAZ profile, appending ``Signature`` as the parent's last child.

    Any child placed after the signed element (infNFeSupl, infCTeSupl) must exist before signing.
    """
    if algoritmo not in _ALGORITMOS:
        raise ValueError(f"algoritmo não suportado: {algoritmo} (use sha1 ou sha256)")
    pai = assinado.getparent()
    id_assinado = assinado.get("Id")
    if pai is None or not id_assinado:
        raise ValueError("o elemento a assinar precisa de Id e de um elemento pai")
    if pai.find(_SIGNATURE) is not None:
        raise ValueError("o elemento já está assinado")
    metodo_assinatura, metodo_digest = _ALGORITMOS[algoritmo]
    digest = _METODOS_DIGEST[metodo_digest](canonicalizar(assinado)).digest()

    assinatura = etree.SubElement(pai, _SIGNATURE, nsmap={None: DS})
    signed_info = etree.SubElement(assinatura, _SIGNED_INFO)
    etree.SubElement(signed_info, _CANON, Algorithm=C14N)
    etree.SubElement(signed_info, _SIG_METHOD, Algorithm=metodo_assinatura)
    referencia = etree.SubElement(signed_info, _REFERENCE, URI=f"#{id_assinado}")
    transforms = etree.SubElement(referencia, f"{{{DS}}}Transforms")
    for algoritmo_transform in _TRANSFORMS:
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=algoritmo_transform)
    etree.SubElement(referencia, _DIGEST_METHOD, Algorithm=metodo_digest)
    etree.SubElement(referencia, _DIGEST_VALUE).text = base64.b64encode(digest).decode()

    valor = chave_privada.sign(
        canonicalizar(signed_info), padding.PKCS1v15(), _METODOS_ASSINATURA[metodo_assinatura]()
    )
    etree.SubElement(assinatura, _SIG_VALUE).text = base64.b64encode(valor).decode()
    key_info = etree.SubElement(assinatura, f"{{{DS}}}KeyInfo")
    x509_data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = _certificado_b64(certificado)


def _unica_assinatura(pai: etree._Element) -> etree._Element:
    assinaturas = pai.findall(_SIGNATURE)
    if not assinaturas:
        raise AssinaturaInvalida("assinatura ausente")
    if len(assinaturas) > 1:
        raise AssinaturaInvalida(f"{len(assinaturas)} assinaturas em {etree.QName(pai).localname}")
    return assinaturas[0]


def _filho(elemento: etree._Element, caminho: str, nome: str) -> etree._Element:
    encontrados = elemento.findall(caminho)
    if len(encontrados) != 1:
        raise AssinaturaInvalida(f"esperado um {nome}, encontrados {len(encontrados)}")
    return encontrados[0]


def _texto(elemento: etree._Element, caminho: str, nome: str) -> str:
    texto = elemento.findtext(caminho)
    if not texto or not texto.strip():
        raise AssinaturaInvalida(f"{nome} ausente")
    return texto


def _algoritmo(elemento: etree._Element, caminho: str, nome: str) -> str:
    return _filho(elemento, caminho, nome).get("Algorithm", "")


def _metodo_assinatura(signed_info: etree._Element):
    canon = _algoritmo(signed_info, _CANON, "CanonicalizationMethod")
    if canon != C14N:
        raise AssinaturaInvalida(f"algoritmo não suportado: CanonicalizationMethod {canon}")
    metodo = _algoritmo(signed_info, _SIG_METHOD, "SignatureMethod")
    if metodo not in _METODOS_ASSINATURA:
        raise AssinaturaInvalida(f"algoritmo não suportado: SignatureMethod {metodo}")
    return _METODOS_ASSINATURA[metodo]


def _referencia(signed_info: etree._Element, id_assinado: str) -> etree._Element:
    referencia = _filho(signed_info, _REFERENCE, "Reference")
    uri = referencia.get("URI", "")
    if uri != f"#{id_assinado}":
        raise AssinaturaInvalida(f"Reference URI {uri} não aponta para o elemento assinado #{id_assinado}")
    transforms = [t.get("Algorithm", "") for t in referencia.iterfind(_TRANSFORM)]
    if transforms != _TRANSFORMS:
        raise AssinaturaInvalida(f"transforms inesperados: {', '.join(transforms) or 'nenhum'}")
    return referencia


def _recusar_id_duplicado(pai: etree._Element, id_assinado: str) -> None:
    # Signature wrapping: a second element with the same Id inside NFe/CTe/evento would make "#Id"
    # ambiguous. Only the parent is searched: real CT-e OS protocols reuse the infCte Id outside it.
    if _CONTAR_ID(pai, id=id_assinado) > 1:
        raise AssinaturaInvalida(f"Id duplicado {id_assinado} dentro de {etree.QName(pai).localname}")


def _conferir_digest(assinado: etree._Element, referencia: etree._Element) -> str:
    calcular = _metodo_digest(referencia)
    digest_value = _texto(referencia, _DIGEST_VALUE, "DigestValue")
    # The Signature is the parent's child, so the enveloped transform removes nothing from the signed
    # element: anything inside it, even another Signature, is content and must match the digest.
    if calcular(canonicalizar(assinado)).digest() != _b64(digest_value, "DigestValue"):
        raise AssinaturaInvalida("digest não confere (conteúdo alterado após a assinatura)")
    return digest_value.strip()


def _conferir_rsa(assinatura: etree._Element, signed_info: etree._Element, hash_assinatura) -> bytes:
    """Check SignatureValue against the KeyInfo certificate; return the certificate (DER)."""
    certificado_b64 = assinatura.findtext(_CERTIFICADO)
    if not certificado_b64 or not certificado_b64.strip():
        raise AssinaturaInvalida("certificado ausente em KeyInfo")
    certificado_der = _b64(certificado_b64, "X509Certificate")
    valor = _b64(_texto(assinatura, _SIG_VALUE, "SignatureValue"), "SignatureValue")
    try:
        _chave_publica(certificado_der).verify(
            valor, canonicalizar(signed_info), padding.PKCS1v15(), hash_assinatura()
        )
    except InvalidSignature:
        raise AssinaturaInvalida("assinatura RSA não confere") from None
    return certificado_der


def _outros_certificados(assinatura: etree._Element) -> tuple[bytes, ...]:
    """Further X509Certificate elements after the signer's: candidate intermediates, bounded in number."""
    textos = [t.text or "" for t in assinatura.iterfind(_CERTIFICADO)][1:9]
    return tuple(_b64(texto, "X509Certificate") for texto in textos if texto.strip())


def _metodo_digest(referencia: etree._Element):
    metodo = _algoritmo(referencia, _DIGEST_METHOD, "DigestMethod")
    if metodo not in _METODOS_DIGEST:
        raise AssinaturaInvalida(f"algoritmo não suportado: DigestMethod {metodo}")
    return _METODOS_DIGEST[metodo]


def _b64(texto: str, nome: str) -> bytes:
    # Real files wrap base64 at 76 columns; whitespace is not part of the value.
    try:
        return base64.b64decode("".join(texto.split()), validate=True)
    except ValueError:
        raise AssinaturaInvalida(f"{nome} não é base64 válido") from None


@lru_cache(maxsize=256)
def _chave_publica(certificado_der: bytes) -> rsa.RSAPublicKey:
    # A bulk import sees the same few emitter certificates thousands of times: parse each once.
    try:
        certificado = x509.load_der_x509_certificate(certificado_der)
    except ValueError:
        raise AssinaturaInvalida("certificado inválido em KeyInfo") from None
    chave = certificado.public_key()
    if not isinstance(chave, rsa.RSAPublicKey):
        raise AssinaturaInvalida("algoritmo não suportado: chave pública do certificado não é RSA")
    return chave


@lru_cache(maxsize=64)
def _certificado_b64(certificado: x509.Certificate) -> str:
    # One customer certificate signs many events: encode it once.
    return base64.b64encode(certificado.public_bytes(serialization.Encoding.DER)).decode()
