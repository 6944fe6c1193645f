"""python manage.py cadeia_icp_brasil --verificar | --importar ARQUIVO_OU_PASTA --origem TEXTO | --fontes

Maintains core/certificados/icp_brasil/: the ICP-Brasil roots and ACs that core/certificados/cadeia.py
trusts, one PEM per certificate, and FONTES.md, which lists each file with its subject, SHA-256 and where
it came from.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError

from core.certificados import cadeia
from core.certificados.cadeia import (
    assinado_por,
    certificados_da_pasta,
    impressao_digital,
    ler_certificados,
    montar_repositorio,
    nome_comum,
    verificar_no_repositorio,
)

ORIGEM_OFICIAL = (
    "https://repositorio.iti.gov.br/ (ITI: \"ACcompactado.zip\", todos os certificados de AC da ICP-Brasil)"
)
_EXTENSOES = (".crt", ".cer", ".der", ".pem")
_RAIZ_ICP = re.compile(r"Autoridade Certificadora Raiz Brasileira( v\d+)?")
# Branches that never issue the person/company certificates (A1/A3, e-CNPJ, e-CPF) that sign NF-e and
# CT-e: TLS servers, code signing, time stamping and metrology objects (DOC-ICP-04 certificate types).
_RAMOS_FORA = re.compile(r"\bSSL\b|CODE ?SIGNING|\bCode\b|\bCS EV\b|TIMESTAMPING|\bTempo\b|OM-BR", re.I)
_RAIZES_FORA = {
    "Autoridade Certificadora Raiz Brasileira v6": "objetos metrológicos (INMETRO)",
    "Autoridade Certificadora Raiz Brasileira v10": "certificados SSL/TLS",
    "Autoridade Certificadora Raiz Brasileira v11": "assinatura de código",
}
_INICIO_TABELA = "<!-- tabela:inicio -->"
_FIM_TABELA = "<!-- tabela:fim -->"


class Command(BaseCommand):
    help = (
        "Mantém as raízes e ACs da ICP-Brasil em que a verificação de assinaturas confia "
        "(core/certificados/icp_brasil/). --verificar confere cada arquivo e o elo com o seu emissor; "
        "--importar acrescenta os certificados de um ACcompactado.zip do ITI (ou de uma pasta de .crt/.cer) "
        "que se encadeiam a uma raiz ICP-Brasil; --fontes reescreve a tabela de FONTES.md a partir da pasta."
    )

    def add_arguments(self, parser):
        acao = parser.add_mutually_exclusive_group(required=True)
        acao.add_argument("--verificar", action="store_true", help="Confere cada certificado da pasta e seu emissor")
        acao.add_argument("--importar", metavar="ZIP_OU_PASTA", help="ACcompactado.zip do ITI ou pasta de certificados")
        acao.add_argument("--fontes", action="store_true", help="Reescreve a tabela de FONTES.md a partir da pasta")
        parser.add_argument("--origem", default="", help="De onde vieram os arquivos importados (vai para FONTES.md)")
        parser.add_argument("--pasta", default=str(cadeia.PASTA_ICP_BRASIL), help="Pasta dos certificados confiáveis")

    def handle(self, *args, verificar, importar, fontes, origem, pasta, **options):
        pasta = Path(pasta)
        if verificar:
            return verificar_pasta(pasta, self.stdout.write)
        if importar:
            if not origem:
                raise CommandError("informe --origem (repositório, commit e caminho, ou a URL e a data do download)")
            novos = importar_certificados(Path(importar), pasta, origem, self.stdout.write)
            escrever_fontes(pasta)
            return f"{len(novos)} certificado(s) importado(s) em {pasta}"
        escrever_fontes(pasta)
        return f"{pasta / 'FONTES.md'} reescrito com {len(certificados_da_pasta(pasta))} certificado(s)"


# --- --verificar ----------------------------------------------------------------------------------


def verificar_pasta(pasta: Path, escrever) -> str:
    """One line per certificate (file, subject, issuer, validity, link status); fails if any link fails."""
    arquivos = certificados_da_pasta(pasta)
    repositorio = montar_repositorio(c for _, c in arquivos)
    origens = _origens(pasta)
    falhas = 0
    for arquivo, certificado in arquivos:
        situacao = _situacao(certificado, repositorio)
        if impressao_digital(certificado) not in origens:
            situacao += "; FALHA: fora de FONTES.md (rode --fontes)"
        falhas += "FALHA" in situacao
        escrever(
            f"{arquivo.name}: {nome_comum(certificado.subject)} <- {nome_comum(certificado.issuer)} "
            f"[{certificado.not_valid_before_utc:%Y-%m-%d} a {certificado.not_valid_after_utc:%Y-%m-%d}] {situacao}"
        )
    if falhas:
        raise CommandError(f"{falhas} de {len(arquivos)} certificado(s) com problema em {pasta}")
    return f"{len(arquivos)} certificado(s), {len(repositorio.raizes)} raiz(es), todos os elos conferem"


def _situacao(certificado: x509.Certificate, repositorio) -> str:
    resultado = verificar_no_repositorio(certificado, repositorio)
    if resultado.autoassinado:
        if _RAIZ_ICP.fullmatch(nome_comum(certificado.subject)):
            return "raiz ICP-Brasil (autoassinada, assinatura confere)"
        return "FALHA: autoassinado, mas não é uma raiz ICP-Brasil"
    if resultado.confiavel:
        return f"ok: assinatura confere com o emissor, cadeia de {len(resultado.cadeia)} até a raiz"
    return f"FALHA: {resultado.motivo}"


# --- --importar -----------------------------------------------------------------------------------


def importar_certificados(origem_dos_arquivos: Path, pasta: Path, origem: str, escrever) -> list[Path]:
    """Write, one PEM each, the CA certificates of a zip or folder that chain to an ICP-Brasil root.

    Left out, each with a line saying why: unreadable files, keys this library cannot use, non-CA
    certificates, the branches of _RAMOS_FORA / _RAIZES_FORA and anything that does not chain.
    """
    pasta.mkdir(parents=True, exist_ok=True)
    existentes = {impressao_digital(c): c for _, c in certificados_da_pasta(pasta)}
    candidatos = {}
    for nome, certificado in _ler_candidatos(origem_dos_arquivos, escrever):
        candidatos.setdefault(impressao_digital(certificado), (nome, certificado))
    todos = [*existentes.values(), *(c for _, c in candidatos.values())]
    raizes = [c for c in todos if _raiz_icp(c)]
    repositorio = montar_repositorio(raizes + [c for c in todos if c not in raizes and not _autoassinado(c)])
    novos, origens = [], _origens(pasta)
    for digest, (nome, certificado) in sorted(candidatos.items(), key=lambda item: item[1][0]):
        if digest in existentes:
            continue
        recusa = _recusa(certificado, repositorio)
        if recusa:
            escrever(f"ignorado {nome}: {recusa}")
            continue
        destino = _nome_do_arquivo(certificado, pasta)
        destino.write_bytes(certificado.public_bytes(serialization.Encoding.PEM))
        origens[digest] = origem.replace("{arquivo}", Path(nome).stem)
        novos.append(destino)
        escrever(f"importado {nome} -> {destino.name}")
    _gravar_origens(pasta, origens)
    return novos


def _ler_candidatos(caminho: Path, escrever):
    if zipfile.is_zipfile(caminho):
        with zipfile.ZipFile(caminho) as arquivo_zip:
            entradas = [(i.filename, arquivo_zip.read(i)) for i in arquivo_zip.infolist() if _e_certificado(i.filename)]
    elif caminho.is_dir():
        arquivos = [a for a in sorted(caminho.rglob("*")) if _e_certificado(a.name)]
        entradas = [(str(a.relative_to(caminho)), a.read_bytes()) for a in arquivos]
    else:
        raise CommandError(f"{caminho}: não é um ZIP nem uma pasta")
    for nome, dados in entradas:
        try:
            certificados = ler_certificados(dados)
        except ValueError as erro:
            escrever(f"ignorado {nome}: ilegível ({erro})")
            continue
        for certificado in certificados:
            yield nome, certificado


def _e_certificado(nome: str) -> bool:
    return nome.lower().endswith(_EXTENSOES)


def _recusa(certificado: x509.Certificate, repositorio) -> str:
    try:
        certificado.public_key()
    except (ValueError, UnsupportedAlgorithm) as erro:  # unknown key types, explicit EC curves
        return f"chave não suportada ({erro})"
    if _autoassinado(certificado):
        if not _raiz_icp(certificado):
            return "autoassinado, mas não é uma raiz ICP-Brasil"
        return _RAIZES_FORA.get(nome_comum(certificado.subject), "")
    try:
        restricoes = certificado.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        restricoes = None
    except ValueError as erro:
        return f"extensões ilegíveis ({erro})"
    if restricoes is None or not restricoes.ca:
        return "não é certificado de AC"
    resultado = verificar_no_repositorio(certificado, repositorio)
    if not resultado.confiavel:
        return f"não se encadeia a uma raiz ICP-Brasil ({resultado.motivo})"
    for sujeito in resultado.cadeia:
        nome = nome_comum(x509.Name.from_rfc4514_string(sujeito))
        if nome in _RAIZES_FORA:
            return f"ramo da raiz {nome}: {_RAIZES_FORA[nome]}"
        if _RAMOS_FORA.search(nome):
            return f"ramo de {nome}: não emite certificados de pessoa física ou jurídica"
    return ""


def _raiz_icp(certificado: x509.Certificate) -> bool:
    organizacoes = [a.value for a in certificado.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)]
    return (
        _autoassinado(certificado)
        and "ICP-Brasil" in organizacoes
        and bool(_RAIZ_ICP.fullmatch(nome_comum(certificado.subject)))
    )


def _autoassinado(certificado: x509.Certificate) -> bool:
    return certificado.subject == certificado.issuer and assinado_por(certificado, certificado)


def _nome_do_arquivo(certificado: x509.Certificate, pasta: Path) -> Path:
    base = re.sub(r"[^0-9A-Za-z]+", "_", nome_comum(certificado.subject)).strip("_") or "certificado"
    destino = pasta / f"{base}.pem"
    if destino.exists():  # an AC renewed under the same name: the fingerprint tells the files apart
        destino = pasta / f"{base}_{impressao_digital(certificado)[:8]}.pem"
    return destino


# --- FONTES.md ------------------------------------------------------------------------------------

_CABECALHO = f"""# Certificados ICP-Brasil confiáveis: fontes

Cada arquivo `.pem` desta pasta é um certificado público de uma autoridade certificadora da ICP-Brasil
(raízes "Autoridade Certificadora Raiz Brasileira" e as ACs abaixo delas). É com eles que
`core/certificados/cadeia.py` decide se o certificado que assinou um documento pertence à ICP-Brasil.

- **Origem oficial**: {ORIGEM_OFICIAL}. Esta máquina não acessa a internet; os arquivos vieram de uma
  cópia pública desse pacote guardada num repositório do GitHub (coluna "Origem": repositório@commit:caminho).
  Cada certificado foi conferido aqui: assinatura verificada com a chave do emissor até uma raiz,
  extensão de AC, validade.
- **O que fica de fora**: ACs de SSL/TLS, assinatura de código, carimbo do tempo e objetos metrológicos
  (raízes v6, v10 e v11 e os ramos com esses nomes), que não emitem certificados de pessoa física ou
  jurídica; as raízes v4 e v13 e a v7, cujas chaves (curvas brainpool explícitas, algoritmo experimental)
  esta biblioteca não lê; e certificados que não se encadeiam a uma raiz. ACs vencidas ficam: assinaram
  documentos antigos que continuam sendo importados.
- **O que falta** (não estava na cópia usada, ou não é legível): "AC VALID" (raiz v2, vencida em 2022)
  e por isso as ACs abaixo dela (AC VALID BRASIL, AC VALID PLUS, AC VALID SPB, AC ONLINE BRASIL); "AC
  Imprensa Oficial" de 2010-2018 e "Autoridade Certificadora do SERPRO Final v1" (2005-2011), cujas
  extensões a biblioteca `cryptography` recusa. Um documento assinado por um certificado dessas ACs
  aparece como não confiável; o próximo `--importar` de um `ACcompactado.zip` completo as traz, se legíveis.
- **Como atualizar**: baixe o `ACcompactado.zip` do ITI e rode
  `python manage.py cadeia_icp_brasil --importar ACcompactado.zip --origem "ITI ACcompactado.zip de AAAA-MM-DD"`;
  depois `python manage.py cadeia_icp_brasil --verificar` (um certificado por linha com o elo com o emissor)
  e `pytest tests/certificados/test_cadeia.py`. `--fontes` reescreve esta tabela a partir da pasta,
  mantendo a origem de cada certificado já listado.

"""


def escrever_fontes(pasta: Path) -> None:
    origens = _origens(pasta)
    linhas = ["| Arquivo | Sujeito | Emissor | Validade | SHA-256 | Origem |", "|---|---|---|---|---|---|"]
    for arquivo, certificado in certificados_da_pasta(pasta):
        digest = impressao_digital(certificado)
        linhas.append(
            f"| `{arquivo.name}` | {_celula(certificado.subject.rfc4514_string())} | "
            f"{_celula(nome_comum(certificado.issuer))} | {certificado.not_valid_before_utc:%Y-%m-%d} a "
            f"{certificado.not_valid_after_utc:%Y-%m-%d} | `{digest}` | {_celula(origens.get(digest, '?'))} |"
        )
    texto = _CABECALHO + _INICIO_TABELA + "\n" + "\n".join(linhas) + "\n" + _FIM_TABELA + "\n"
    (pasta / "FONTES.md").write_text(texto, encoding="utf-8")


def _origens(pasta: Path) -> dict[str, str]:
    """SHA-256 -> origin, read back from the table of FONTES.md (the only place it is kept)."""
    arquivo = pasta / "FONTES.md"
    if not arquivo.exists():
        return {}
    origens = {}
    for linha in arquivo.read_text(encoding="utf-8").splitlines():
        celulas = [c.strip() for c in linha.split("|")]
        if len(celulas) >= 8 and celulas[1].startswith("`"):
            origens[celulas[5].strip("`")] = celulas[6].replace("\\|", "|")
    return origens


def _gravar_origens(pasta: Path, origens: dict[str, str]) -> None:
    # The table is rewritten from the folder right after; keep the new origins for it meanwhile.
    existentes = _origens(pasta)
    existentes.update(origens)
    linhas = [f"| `x` | | | | `{d}` | {_celula(o)} |" for d, o in existentes.items()]
    (pasta / "FONTES.md").write_text(_CABECALHO + "\n".join(linhas) + "\n", encoding="utf-8")


def _celula(texto: str) -> str:
    return texto.replace("|", "\\|")
