"""Response shapes of /totais/ (documentation only: the data comes from core.consultas.totais)."""

from rest_framework import serializers


def _valores(campos):
    return {campo: serializers.DecimalField(max_digits=18, decimal_places=2) for campo in campos}


_NFE = ("valor_total", "valor_produtos", "valor_icms", "valor_ipi")
_CTE = ("valor_prestacao", "valor_receber", "valor_carga")

SituacaoNFe = type("TotaisSituacaoNFe", (serializers.Serializer,), {"quantidade": serializers.IntegerField(), **_valores(_NFE)})
SituacaoCTe = type("TotaisSituacaoCTe", (serializers.Serializer,), {"quantidade": serializers.IntegerField(), **_valores(_CTE)})

TotaisNFeSerializer = type(
    "TotaisNFe", (SituacaoNFe,), {"por_situacao": serializers.DictField(child=SituacaoNFe())}
)
TotaisCTeSerializer = type(
    "TotaisCTe", (SituacaoCTe,), {"por_situacao": serializers.DictField(child=SituacaoCTe())}
)
