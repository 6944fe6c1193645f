"""Small charts as inline SVG, built here on the server: no JavaScript, no external file or font.

Framework-free: each function takes plain numbers and labels and returns SVG markup in which every
piece of text is escaped, so the caller may mark it safe. Sizes are in SVG user units; the element
scales to its container (`width="100%"` + viewBox). Every bar carries a <title> (the exact numbers
show on hover) and the chart an aria-label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

FONTE = 'font-family="sans-serif" font-size="11"'
VERDE, AMBAR, VERMELHO, CINZA = "#2e7d32", "#c86400", "#ba2121", "#9e9e9e"
TAXA_BOA, TAXA_ACEITAVEL = 95.0, 80.0


@dataclass(frozen=True)
class Serie:
    nome: str
    cor: str
    valores: list[int]


def porcentagem(valor: float) -> str:
    """97.5 -> "97,5%" (pt-BR decimal comma)."""
    return f"{valor:.1f}".replace(".", ",") + "%"


def cor_da_taxa(taxa: float | None) -> str:
    if taxa is None:
        return CINZA
    if taxa >= TAXA_BOA:
        return VERDE
    return AMBAR if taxa >= TAXA_ACEITAVEL else VERMELHO


def teto_redondo(valor: float) -> int:
    """The smallest 1, 2 or 5 x 10^n at least `valor` (at least 1): a readable top for the axis."""
    if valor <= 1:
        return 1
    potencia = 10 ** math.floor(math.log10(valor))
    return next(int(m * potencia) for m in (1, 2, 5, 10) if m * potencia >= valor)


def barras_empilhadas(rotulos: list[str], series: list[Serie], *, titulo: str, largura=720, altura=220) -> str:
    """Vertical bars, one per label, the series stacked bottom to top, with a legend and a y axis."""
    esquerda, direita, topo, base = 40, 8, 24, 22
    area_l, area_a = largura - esquerda - direita, altura - topo - base
    totais = [sum(s.valores[i] for s in series) for i in range(len(rotulos))]
    maximo = teto_redondo(max(totais, default=0))
    passo = area_l / max(len(rotulos), 1)
    partes = [_abrir(titulo, largura, altura)]
    for fracao in (0, 0.5, 1):  # grid lines and y labels
        y = topo + area_a * (1 - fracao)
        partes.append(f'<line x1="{esquerda}" y1="{y:.1f}" x2="{largura - direita}" y2="{y:.1f}" stroke="#ddd"/>')
        rotulo = _numero(maximo * fracao)
        partes.append(f'<text x="{esquerda - 4}" y="{y + 4:.1f}" text-anchor="end" {FONTE}>{rotulo}</text>')
    for i, rotulo in enumerate(rotulos):
        x, y = esquerda + i * passo + passo * 0.1, topo + area_a
        dica = escape(f"{rotulo}: " + ", ".join(f"{s.valores[i]} {s.nome}" for s in series))
        partes.append(f"<g><title>{dica}</title>")
        for serie in series:
            h = area_a * serie.valores[i] / maximo
            y -= h
            if h > 0:
                partes.append(_retangulo(x, y, passo * 0.8, h, serie.cor))
        partes.append("</g>")
        if i % 5 == 0 or i == len(rotulos) - 1:
            meio = esquerda + i * passo + passo / 2
            partes.append(f'<text x="{meio:.1f}" y="{altura - 6}" text-anchor="middle" {FONTE}>{escape(rotulo)}</text>')
    partes.append(_legenda(series, largura - direita))
    partes.append("</svg>")
    return "".join(partes)


@dataclass(frozen=True)
class Linha:
    """One horizontal bar: `valor` in 0..100, or None when there is nothing to measure (grey, empty)."""

    rotulo: str
    valor: float | None
    detalhe: str


def barras_horizontais(linhas: list[Linha], *, titulo: str, largura=720) -> str:
    """One row per item: label, a 0-100% bar coloured by `cor_da_taxa`, and a detail text (the detail
    is left out of a row without a value: there is nothing to detail)."""
    altura_linha, rotulo_l, barra_l = 26, 170, 220
    altura = max(len(linhas), 1) * altura_linha + 8
    partes = [_abrir(titulo, largura, altura)]
    for i, linha in enumerate(linhas):
        y = 4 + i * altura_linha
        meio = y + altura_linha / 2 + 4
        cor = cor_da_taxa(linha.valor)
        preenchido = barra_l * (linha.valor or 0) / 100
        texto = "sem entregas no período"
        if linha.valor is not None:
            texto = f"{porcentagem(linha.valor)} · {linha.detalhe}"
        partes.append(f"<g><title>{escape(linha.rotulo)}: {escape(texto)}</title>")
        partes.append(f'<text x="0" y="{meio:.1f}" {FONTE}>{escape(_encurtar(linha.rotulo, 26))}</text>')
        partes.append(_retangulo(rotulo_l, y + 5, barra_l, altura_linha - 10, "#eee"))
        if preenchido > 0:
            partes.append(_retangulo(rotulo_l, y + 5, preenchido, altura_linha - 10, cor))
        partes.append(f'<text x="{rotulo_l + barra_l + 8}" y="{meio:.1f}" {FONTE}>{escape(texto)}</text></g>')
    partes.append("</svg>")
    return "".join(partes)


def _abrir(titulo: str, largura: int, altura: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {largura} {altura}" width="100%" '
        f'role="img" aria-label="{escape(titulo)}" preserveAspectRatio="xMinYMin meet">'
    )


def _retangulo(x: float, y: float, largura: float, altura: float, cor: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{largura:.1f}" height="{altura:.1f}" fill="{cor}"/>'


def _legenda(series: list[Serie], direita: float) -> str:
    partes, x = [], direita
    for serie in reversed(series):
        x -= 8 + 7 * len(serie.nome)
        partes.append(f'<rect x="{x:.0f}" y="4" width="10" height="10" fill="{serie.cor}"/>')
        partes.append(f'<text x="{x + 14:.0f}" y="13" {FONTE}>{escape(serie.nome)}</text>')
        x -= 14
    return "".join(partes)


def _numero(valor: float) -> str:
    return str(int(valor)) if float(valor).is_integer() else f"{valor:.1f}".replace(".", ",")


def _encurtar(texto: str, limite: int) -> str:
    return texto if len(texto) <= limite else texto[: limite - 1] + "…"
