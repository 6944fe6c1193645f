"""Query parameters and response shape of /api/estatisticas/ (the numbers come from core.consultas.estatisticas)."""

from datetime import date, timedelta

from django.utils import timezone
from rest_framework import serializers

from api.serializers.painel import PorFinalidadeSerializer, QuantidadeValorTributosSerializer, dinheiro
from core.consultas.estatisticas import DIA, MES, periodos
from core.models import Situacao

DIAS_PADRAO = 30
MAXIMO_DIAS = 366
MAXIMO_MESES = 120
MENOR_DATA, MAIOR_DATA = date(1900, 1, 1), date(2999, 12, 31)


class ParametrosEstatisticasSerializer(serializers.Serializer):
    inicio = serializers.DateField(
        required=False, help_text=f"AAAA-MM-DD, inclusive; padrão: {DIAS_PADRAO - 1} dias antes de `fim`"
    )
    fim = serializers.DateField(required=False, help_text="AAAA-MM-DD, inclusive; padrão: hoje")
    agrupar = serializers.ChoiceField(
        choices=[(DIA, "Por dia"), (MES, "Por mês")], default=DIA,
        help_text=f"`dia` (período de até {MAXIMO_DIAS} dias) ou `mes` (até {MAXIMO_MESES} meses)",
    )  # fmt: skip

    def validate_inicio(self, valor):
        return _dentro_dos_limites(valor)

    def validate_fim(self, valor):
        return _dentro_dos_limites(valor)

    def validate(self, dados):
        hoje = timezone.localdate(timezone=timezone.get_default_timezone())
        fim = dados.get("fim") or hoje
        inicio = dados.get("inicio") or fim - timedelta(days=DIAS_PADRAO - 1)
        # Blame the field the caller sent: a future `inicio` alone clashes with the default `fim`.
        campo = "fim" if "fim" in dados else "inicio"
        if fim < inicio:
            raise serializers.ValidationError({campo: ["`fim` deve ser igual ou posterior a `inicio`."]})
        if dados["agrupar"] == DIA and (fim - inicio).days + 1 > MAXIMO_DIAS:
            raise serializers.ValidationError(
                {campo: [f"Com agrupar=dia o período vai até {MAXIMO_DIAS} dias; use agrupar=mes."]}
            )
        if dados["agrupar"] == MES and len(periodos(inicio, fim, MES)) > MAXIMO_MESES:
            raise serializers.ValidationError({campo: [f"Com agrupar=mes o período vai até {MAXIMO_MESES} meses."]})
        return {**dados, "inicio": inicio, "fim": fim}


def _dentro_dos_limites(valor: date) -> date:
    if not MENOR_DATA <= valor <= MAIOR_DATA:
        raise serializers.ValidationError(f"Use uma data entre {MENOR_DATA:%Y} e {MAIOR_DATA:%Y}.")
    return valor


class PontoDaSerieSerializer(serializers.Serializer):
    periodo = serializers.DateField(help_text="O dia, ou o primeiro dia do mês")
    nfe = QuantidadeValorTributosSerializer(
        help_text="NF-e de operação (finalidade 1, 2, 3 ou resumo): quantidade, soma de valor_total, IBS e CBS"
    )
    cte = QuantidadeValorTributosSerializer(help_text="CT-e: quantidade, soma de valor_prestacao, IBS e CBS")


class EmitenteSerializer(serializers.Serializer):
    documento = serializers.CharField(help_text="CNPJ ou CPF do emitente")
    nome = serializers.CharField()
    quantidade = serializers.IntegerField()
    valor = dinheiro()


class RotaSerializer(serializers.Serializer):
    uf_inicio = serializers.CharField()
    municipio_inicio = serializers.CharField()
    uf_fim = serializers.CharField()
    municipio_fim = serializers.CharField()
    quantidade = serializers.IntegerField()
    valor = dinheiro()


class PorUFSerializer(serializers.Serializer):
    uf = serializers.CharField()
    quantidade = serializers.IntegerField()
    valor = dinheiro()


class PorSituacaoSerializer(serializers.Serializer):
    situacao = serializers.ChoiceField(choices=Situacao.choices)
    quantidade = serializers.IntegerField()
    valor = dinheiro()


class DistribuicaoUFSerializer(serializers.Serializer):
    nfe = PorUFSerializer(many=True, help_text="Por UF do emitente")
    cte = PorUFSerializer(many=True, help_text="Por UF de início da prestação")


class DistribuicaoSituacaoSerializer(serializers.Serializer):
    nfe = PorSituacaoSerializer(many=True)
    cte = PorSituacaoSerializer(many=True)


class DistribuicaoFinalidadeSerializer(serializers.Serializer):
    nfe = PorFinalidadeSerializer(many=True, help_text="Todas as NF-e do período, por finalidade (finNFe)")


class EstatisticasSerializer(serializers.Serializer):
    inicio = serializers.DateField()
    fim = serializers.DateField()
    agrupar = serializers.CharField()
    series = PontoDaSerieSerializer(many=True, help_text="Um ponto por período, inclusive os sem documentos")
    top_emitentes = EmitenteSerializer(many=True, help_text="Os 10 emitentes de NF-e de operação de maior valor")
    top_rotas = RotaSerializer(many=True, help_text="As 10 rotas de CT-e de maior valor")
    por_uf = DistribuicaoUFSerializer(help_text="NF-e: só as de operação")
    por_situacao = DistribuicaoSituacaoSerializer(help_text="NF-e: só as de operação")
    por_finalidade = DistribuicaoFinalidadeSerializer(
        help_text="Todas as NF-e do período por finalidade: devoluções, notas de crédito e de débito ficam só aqui"
    )
