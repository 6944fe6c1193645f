"""GET /api/buscar/. Thin: the text is read and searched by core.consultas.busca."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.busca import BuscaSerializer, ParametrosBuscaSerializer
from core.consultas.busca import buscar


class BuscaView(APIView):
    @extend_schema(
        operation_id="buscar",
        parameters=[ParametrosBuscaSerializer],
        responses=BuscaSerializer,
        summary="Busca NF-e e CT-e",
    )
    def get(self, request):
        """Uma busca só sobre NF-e e CT-e: chave inteira ou parte dela (ao menos 6 dígitos), número,
        CNPJ/CPF do emitente, destinatário ou tomador (com ou sem máscara) ou parte do nome deles."""
        parametros = ParametrosBuscaSerializer(data=request.query_params)
        parametros.is_valid(raise_exception=True)
        dados = parametros.validated_data
        resultados = buscar(organizacao=request.organizacao, termo=dados["q"], limite=dados["limite"])
        return Response(BuscaSerializer({"resultados": resultados}, context={"request": request}).data)
