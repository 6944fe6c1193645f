"""Response shapes of /totais/ (documentation only: the data comes from core.consultas.totais)."""

from rest_framework import serializers

from core.consultas.totais import CAMPOS_DE_VALOR
from core.models import CTe, Finalidade, NFe

AJUDA = {
    "valor_total": "Soma de valor_total (vNFTot quando a nota o traz, senão vNF)",
    "valor_nf": "Soma de vNF",
    "valor_nf_tot": "Soma de vNFTot, das notas que o trazem",
    "valor_ibs": "Soma do IBS, dos documentos com o grupo da reforma",
    "valor_cbs": "Soma da CBS, dos documentos com o grupo da reforma",
    "valor_is": "Soma do Imposto Seletivo, das notas com ISTot",
    "valor_total_dfe": "Soma de vTotDFe, dos CT-e que o trazem",
}


def _valores(campos):
    return {
        campo: serializers.DecimalField(max_digits=18, decimal_places=2, help_text=AJUDA.get(campo, ""))
        for campo in campos
    }


def _serializer(nome, campos, **extras):
    return type(nome, (serializers.Serializer,), {"quantidade": serializers.IntegerField(), **_valores(campos), **extras})


SituacaoNFe = _serializer("TotaisSituacaoNFe", CAMPOS_DE_VALOR[NFe])
SituacaoCTe = _serializer("TotaisSituacaoCTe", CAMPOS_DE_VALOR[CTe])
FinalidadeNFe = _serializer(
    "TotaisFinalidadeNFe",
    CAMPOS_DE_VALOR[NFe],
    finalidade=serializers.ChoiceField(choices=Finalidade.choices, allow_null=True, help_text="finNFe; null: resumos"),
    finalidade_nome=serializers.CharField(allow_null=True),
)

TotaisNFeSerializer = type(
    "TotaisNFe",
    (SituacaoNFe,),
    {
        "por_situacao": serializers.DictField(child=SituacaoNFe()),
        "por_finalidade": FinalidadeNFe(
            many=True,
            help_text="Por finalidade (finNFe): devoluções e notas de crédito e de débito ficam separadas das operações",
        ),
    },
)
TotaisCTeSerializer = type(
    "TotaisCTe", (SituacaoCTe,), {"por_situacao": serializers.DictField(child=SituacaoCTe())}
)
