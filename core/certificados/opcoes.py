"""Capture options: their validation, the organization's defaults and the values in force for a certificate.

A certificate's `intervalo_minutos`, `servicos` and `ciencia_automatica` may be NULL, meaning "the
organization's default" (`ConfiguracaoConsulta`); `opcoes_efetivas` resolves them. Every input (API,
admin, command) is normalised here, so "SP" and "35", "nfe,cte" and ["cte", "nfe"] end up the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.documentos.chave import CODIGO_POR_UF, UF_POR_CODIGO
from core.erros import EntradaInvalida
from core.models import Ambiente, CertificadoDigital, ConfiguracaoConsulta, Organizacao, Servico
from core.models.sefaz import INTERVALO_MINIMO_MINUTOS
from core.tenancy import escopo

# SEFAZ stops generating NSUs for a CNPJ that goes 60 days without distNSU (NT 2014.002 §3): a week
# between queries keeps far from that and is already more than anyone needs.
INTERVALO_MAXIMO_MINUTOS = 7 * 24 * 60
SERVICOS = [Servico.NFE.value, Servico.CTE.value]
MAX_DESTINATARIOS = 20
CAMPOS_DA_CONFIGURACAO = ("intervalo_minutos", "servicos", "ciencia_automatica", "destinatarios")


class OpcaoInvalida(EntradaInvalida):
    """An option with a bad value; `campo` names it (the API answers 400 on that field)."""


@dataclass(frozen=True)
class OpcoesDeConsulta:
    """What a capture run of one certificate must use: its own values, else the organization's."""

    intervalo_minutos: int
    servicos: list[str]
    ciencia_automatica: bool
    uf: str  # IBGE code (cUFAutor), "" when unknown
    ambiente: int


# --- Normalising one value ------------------------------------------------------------------------


def normalizar_uf(valor) -> str:
    """The IBGE code of a UF given as "SP", "sp", "35" or 35; "" for empty."""
    if valor is None or valor == "":
        return ""
    texto = str(valor).strip().upper()
    if texto in CODIGO_POR_UF:
        return CODIGO_POR_UF[texto]
    if texto in UF_POR_CODIGO:
        return texto
    raise OpcaoInvalida("uf", f"UF inválida: {str(valor)[:10]!r}. Use a sigla (SP) ou o código IBGE (35).")


def sigla_da_uf(codigo: str) -> str:
    return UF_POR_CODIGO.get(codigo, "")


def normalizar_ambiente(valor) -> int:
    nomes = {"producao": 1, "produção": 1, "homologacao": 2, "homologação": 2}
    texto = str(valor).strip().lower()
    if not isinstance(valor, bool) and texto in {"1", "2"}:
        return int(texto)
    if texto in nomes:
        return nomes[texto]
    raise OpcaoInvalida("ambiente", "Ambiente inválido: use 1 (produção) ou 2 (homologação).")


def normalizar_intervalo(valor, *, permitir_nulo: bool) -> int | None:
    if valor is None or valor == "":
        if permitir_nulo:
            return None
        raise OpcaoInvalida("intervalo_minutos", "Informe o intervalo em minutos.")
    inteiro = isinstance(valor, int) and not isinstance(valor, bool)
    if not (inteiro or isinstance(valor, str) and valor.strip().isdigit()):
        raise OpcaoInvalida("intervalo_minutos", "O intervalo deve ser um número inteiro de minutos.")
    minutos = int(valor)
    if minutos < INTERVALO_MINIMO_MINUTOS:
        raise OpcaoInvalida(
            "intervalo_minutos",
            f"O intervalo mínimo é de {INTERVALO_MINIMO_MINUTOS} minutos: a SEFAZ bloqueia por 1 hora quem "
            "consulta antes disso (consumo indevido, cStat 656).",
        )
    if minutos > INTERVALO_MAXIMO_MINUTOS:
        raise OpcaoInvalida(
            "intervalo_minutos",
            f"O intervalo máximo é de {INTERVALO_MAXIMO_MINUTOS} minutos (7 dias): a SEFAZ deixa de gerar NSUs "
            "para quem passa 60 dias sem consultar.",
        )
    return minutos


def normalizar_servicos(valor, *, permitir_nulo: bool) -> list[str] | None:
    """["nfe", "cte"] or a part of it, from a list or a comma-separated text, in that order."""
    if valor is None and permitir_nulo:
        return None
    if isinstance(valor, str):
        valor = valor.split(",")
    if not isinstance(valor, (list, tuple)) or not all(isinstance(v, str) for v in valor):
        raise OpcaoInvalida("servicos", "Envie uma lista de serviços (nfe, cte) ou um texto separado por vírgulas.")
    escolhidos = {v.strip().lower() for v in valor if v.strip()}
    desconhecidos = sorted(escolhidos - set(SERVICOS))
    if desconhecidos:
        raise OpcaoInvalida("servicos", f"Serviços desconhecidos: {', '.join(desconhecidos)}; use nfe e/ou cte.")
    if not escolhidos:
        raise OpcaoInvalida("servicos", "Escolha ao menos um serviço: nfe, cte.")
    return [s for s in SERVICOS if s in escolhidos]


def normalizar_destinatarios(valor) -> list[str]:
    """E-mail addresses from a list or a text separated by commas, semicolons or line breaks."""
    if valor is None:
        return []
    if isinstance(valor, str):
        valor = valor.replace(";", ",").replace("\n", ",").split(",")
    if not isinstance(valor, (list, tuple)) or not all(isinstance(v, str) for v in valor):
        raise OpcaoInvalida("destinatarios", "Envie uma lista de e-mails.")
    enderecos = list(dict.fromkeys(v.strip().lower() for v in valor if v.strip()))
    for endereco in enderecos:
        try:
            validate_email(endereco)
        except ValidationError:
            raise OpcaoInvalida("destinatarios", f"E-mail inválido: {endereco[:100]}") from None
    if len(enderecos) > MAX_DESTINATARIOS:
        raise OpcaoInvalida("destinatarios", f"No máximo {MAX_DESTINATARIOS} destinatários.")
    return enderecos


def _booleano(campo: str, valor, *, permitir_nulo: bool) -> bool | None:
    if valor is None and permitir_nulo:
        return None
    if not isinstance(valor, bool):
        raise OpcaoInvalida(campo, "Use true ou false.")
    return valor


def _nome(valor) -> str:
    nome = str(valor or "").strip()
    if len(nome) > 100:
        raise OpcaoInvalida("nome", "O nome tem no máximo 100 caracteres.")
    return nome


_DO_CERTIFICADO = {
    "nome": _nome,
    "uf": normalizar_uf,
    "ambiente": normalizar_ambiente,
    "consulta_automatica": lambda v: _booleano("consulta_automatica", v, permitir_nulo=False),
    "intervalo_minutos": lambda v: normalizar_intervalo(v, permitir_nulo=True),
    "servicos": lambda v: normalizar_servicos(v, permitir_nulo=True),
    "ciencia_automatica": lambda v: _booleano("ciencia_automatica", v, permitir_nulo=True),
}
OPCOES_DO_CERTIFICADO = tuple(_DO_CERTIFICADO)

_DA_CONFIGURACAO = {
    "intervalo_minutos": lambda v: normalizar_intervalo(v, permitir_nulo=False),
    "servicos": lambda v: normalizar_servicos(v, permitir_nulo=False),
    "ciencia_automatica": lambda v: _booleano("ciencia_automatica", v, permitir_nulo=False),
    "destinatarios": normalizar_destinatarios,
}


def normalizar_opcoes_do_certificado(opcoes: dict) -> dict:
    """The given certificate options, normalised; OpcaoInvalida for the first bad one, TypeError for unknown names."""
    return _normalizar(opcoes, _DO_CERTIFICADO)


def exigir_uf_para_consulta_automatica(uf: str, consulta_automatica: bool) -> None:
    if consulta_automatica and not uf:
        raise OpcaoInvalida(
            "uf", "Informe a UF do interessado (sigla ou código IBGE) para ligar a consulta automática (cUFAutor)."
        )


def _normalizar(opcoes: dict, normalizadores: dict) -> dict:
    desconhecidas = sorted(set(opcoes) - set(normalizadores))
    if desconhecidas:
        raise TypeError(f"opções desconhecidas: {', '.join(desconhecidas)}")
    return {nome: normalizadores[nome](valor) for nome, valor in opcoes.items()}


# --- The organization's defaults ------------------------------------------------------------------


def configuracao_da_organizacao(organizacao: Organizacao) -> ConfiguracaoConsulta:
    """The organization's ConfiguracaoConsulta, created with the defaults on first use."""
    configuracao, _ = escopo(ConfiguracaoConsulta, organizacao).get_or_create(organizacao=organizacao)
    return configuracao


def validar_configuracao(**campos) -> dict:
    """The normalised default options (see CAMPOS_DA_CONFIGURACAO); OpcaoInvalida if one is bad."""
    return _normalizar(campos, _DA_CONFIGURACAO)


def atualizar_configuracao(configuracao: ConfiguracaoConsulta, **campos) -> ConfiguracaoConsulta:
    """Change the given default options."""
    valores = validar_configuracao(**campos)
    for nome, valor in valores.items():
        setattr(configuracao, nome, valor)
    configuracao.save(update_fields=[*valores, "atualizado_em"])
    return configuracao


def opcoes_efetivas(certificado: CertificadoDigital) -> OpcoesDeConsulta:
    """The options a capture run of `certificado` uses: its own, else the organization's defaults."""
    padrao = escopo(ConfiguracaoConsulta, certificado.organizacao).first()
    padrao = padrao or ConfiguracaoConsulta(organizacao=certificado.organizacao)  # defaults, not saved

    def valor(nome):
        proprio = getattr(certificado, nome)
        return getattr(padrao, nome) if proprio is None else proprio

    return OpcoesDeConsulta(
        intervalo_minutos=valor("intervalo_minutos"),
        servicos=list(valor("servicos")),
        ciencia_automatica=valor("ciencia_automatica"),
        uf=certificado.uf,
        ambiente=int(certificado.ambiente or Ambiente.PRODUCAO),
    )
