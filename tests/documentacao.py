"""Reading the runnable snippets of the docs, and checking a documented response against a real one.

Markers, each on the line before a fenced block:
- `<!-- executar -->` before a ```bash or ```python block: the suite runs it against a live server;
- `<!-- resposta -->` before a ```json block: the output of the runnable bash block just above must
  have exactly this shape (the same keys at every level, values of the same JSON type);
- `<!-- resposta parcial -->`: the same, but the real response may have more keys than the example.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

RAIZ = Path(__file__).resolve().parent.parent
DOCUMENTOS = ["INICIO_RAPIDO_INTEGRACOES.md", "INTEGRACOES.md", "README.md"]

_MARCADO = re.compile(r"<!-- (executar|resposta|resposta parcial) -->\s*```(\w+)\n(.*?)```", re.S)
_CERCA = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
# README's own curl block has its own test (tests/test_readme.py).
_REGIOES_COM_TESTE_PROPRIO = re.compile(r"<!-- exemplos-curl:inicio -->.*?<!-- exemplos-curl:fim -->", re.S)


@dataclass
class Bloco:
    marcador: str  # executar, resposta or resposta parcial
    linguagem: str
    codigo: str
    linha: int

    @property
    def onde(self) -> str:
        return f"linha {self.linha}"


def ler(nome: str) -> str:
    return (RAIZ / nome).read_text(encoding="utf-8")


def blocos(nome: str) -> list[Bloco]:
    texto = ler(nome)
    return [
        Bloco(m.group(1), m.group(2), m.group(3), texto.count("\n", 0, m.start()) + 2) for m in _MARCADO.finditer(texto)
    ]


def executaveis(nome: str, linguagem: str) -> list[Bloco]:
    return [b for b in blocos(nome) if b.marcador == "executar" and b.linguagem == linguagem]


def respostas_documentadas(nome: str) -> list[tuple[int, Bloco]]:
    """(index among the file's runnable bash blocks, response block) for each documented response."""
    pares, indice = [], -1
    for bloco in blocos(nome):
        if bloco.marcador == "executar" and bloco.linguagem == "bash":
            indice += 1
        elif bloco.marcador.startswith("resposta"):
            if indice < 0 or bloco.linguagem != "json":
                raise AssertionError(f"{nome}, {bloco.onde}: resposta sem um bloco bash executável antes dela")
            pares.append((indice, bloco))
    return pares


def trechos_sem_marcador(nome: str) -> list[str]:
    """curl commands and Python code that the suite would not run: each must be marked `executar`."""
    texto = _REGIOES_COM_TESTE_PROPRIO.sub("", ler(nome))
    marcados = {b.codigo for b in blocos(nome) if b.marcador == "executar"}
    faltando = []
    for cerca in _CERCA.finditer(texto):
        linguagem, codigo = cerca.group(1), cerca.group(2)
        relevante = linguagem == "python" or (linguagem in ("bash", "sh", "") and "curl " in codigo)
        if relevante and codigo not in marcados:
            faltando.append(f"{nome}, linha {texto.count(chr(10), 0, cerca.start()) + 1}: {codigo.splitlines()[0]}")
    return faltando


def documentos_json(saida: str) -> list:
    """Every JSON document a snippet printed (curl's compact output, jq's pretty one), in order."""
    decodificador, posicao, documentos = json.JSONDecoder(), 0, []
    while posicao < len(saida):
        inicio = min((i for i in (saida.find("{", posicao), saida.find("[", posicao)) if i >= 0), default=-1)
        if inicio < 0:
            break
        try:
            documento, posicao = decodificador.raw_decode(saida, inicio)
            documentos.append(documento)
        except json.JSONDecodeError:
            posicao = inicio + 1
    return documentos


def ultimo_json(saida: str):
    """The last JSON document a snippet printed: the response its example documents."""
    documentos = documentos_json(saida)
    return documentos[-1] if documentos else None


def _tipo(valor) -> str:
    if isinstance(valor, bool):
        return "booleano"
    if isinstance(valor, (int, float)):
        return "número"
    return {str: "texto", list: "lista", dict: "objeto"}[type(valor)]


def diferencas(documentado, real, parcial: bool = False, caminho: str = "$") -> list[str]:
    """What in the documented example does not match the real response (empty: same shape).

    null on either side matches anything (a field that is sometimes empty). A documented list item
    must match some item of the real list, so an example may show one item of each kind.
    """
    if documentado is None or real is None:
        return []
    if _tipo(documentado) != _tipo(real):
        return [f"{caminho}: documentado como {_tipo(documentado)}, veio {_tipo(real)}"]
    if isinstance(documentado, dict):
        problemas = [f"{caminho}.{k}: documentado, mas não veio na resposta" for k in documentado if k not in real]
        if not parcial:
            problemas += [f"{caminho}.{k}: veio na resposta, mas não está documentado" for k in real if k not in documentado]
        for chave in documentado.keys() & real.keys():
            problemas += diferencas(documentado[chave], real[chave], parcial, f"{caminho}.{chave}")
        return problemas
    if isinstance(documentado, list):
        problemas = []
        for i, item in enumerate(documentado):
            if not real:
                return [f"{caminho}: o exemplo mostra itens, a resposta veio vazia"]
            candidatas = [diferencas(item, r, parcial, f"{caminho}[{i}]") for r in real]
            if all(candidatas):
                problemas += min(candidatas, key=len)
        return problemas
    return []
