"""Query parameters and response shape of /api/buscar/ (the search itself is core.consultas.busca)."""

from django.urls import reverse
from rest_framework import serializers

from core.consultas.busca import BuscaInvalida, Termo, interpretar
from core.models import Situacao, TipoDocumento

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


class ResultadoBuscaSerializer(serializers.Serializer):
    tipo = serializers.ChoiceField(choices=TipoDocumento.choices)
    chave = serializers.CharField()
    numero = serializers.IntegerField()
    serie = serializers.IntegerField()
    data_emissao = serializers.DateTimeField()
    emitente_nome = serializers.CharField()
    emitente_documento = serializers.CharField()
    valor = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="valor_total (NF-e) ou valor_prestacao (CT-e)"
    )
    situacao = serializers.ChoiceField(choices=Situacao.choices)
    link = serializers.SerializerMethodField()

    def get_link(self, documento) -> str:
        url = reverse(f"{documento['tipo']}-detail", kwargs={"chave": documento["chave"]})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class BuscaSerializer(serializers.Serializer):
    resultados = ResultadoBuscaSerializer(
        many=True,
        help_text="Chave exata primeiro, depois número ou CNPJ/CPF exatos, depois parciais; mais recentes antes",
    )
