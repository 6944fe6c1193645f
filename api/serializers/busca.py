"""Query parameters and response shape of /api/buscar/ (the search itself is core.consultas.busca)."""

from rest_framework import serializers

from api.serializers.painel import NFePendenteSerializer
from core.consultas.busca import BuscaInvalida, Termo, interpretar
from core.models import TipoDocumento

LIMITE_PADRAO, LIMITE_MAXIMO = 20, 100


class ParametrosBuscaSerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=100,
        help_text="Chave (44 dígitos ou ao menos 6), número, CNPJ/CPF (com ou sem máscara) ou nome (ao menos 3 letras)",
    )
    limite = serializers.IntegerField(min_value=1, max_value=LIMITE_MAXIMO, default=LIMITE_PADRAO)

    def validate_q(self, valor) -> Termo:
        # validated_data["q"] is what the text means, so the view never parses it again.
        try:
            return interpretar(valor)
        except BuscaInvalida as erro:
            raise serializers.ValidationError(str(erro)) from None


class ResultadoBuscaSerializer(NFePendenteSerializer):
    """The same document summary as the dashboard's, typed: search spans NF-e and CT-e."""

    tipo = serializers.ChoiceField(choices=TipoDocumento.choices)
    valor = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="valor_total (NF-e) ou valor_prestacao (CT-e)"
    )


class BuscaSerializer(serializers.Serializer):
    resultados = ResultadoBuscaSerializer(
        many=True,
        help_text="Chave exata primeiro, depois número ou CNPJ/CPF exatos, depois parciais; mais recentes antes",
    )
