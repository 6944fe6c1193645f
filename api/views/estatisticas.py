"""GET /api/estatisticas/. Thin: validates the period and serializes core.consultas.estatisticas."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.estatisticas import EstatisticasSerializer, ParametrosEstatisticasSerializer
from core.consultas.estatisticas import estatisticas


class EstatisticasView(APIView):
    @extend_schema(
        operation_id="estatisticas",
        parameters=[ParametrosEstatisticasSerializer],
        responses=EstatisticasSerializer,
        summary="Estatísticas de um período",
    )
    def get(self, request):
        """Séries por dia ou mês (com zeros nos períodos sem documentos; valor, IBS e CBS), os 10 maiores
        emitentes de NF-e e as 10 maiores rotas de CT-e por valor, e a distribuição por UF e por situação.
        As NF-e contam só operações (finalidade 1, 2, 3 ou resumo); `por_finalidade` traz todas, separadas,
        com devoluções e notas de crédito e de débito à parte. Sem parâmetros: os últimos 30 dias, por dia."""
        parametros = ParametrosEstatisticasSerializer(data=request.query_params)
        parametros.is_valid(raise_exception=True)
        dados = estatisticas(organizacao=request.organizacao, **parametros.validated_data)
        return Response(EstatisticasSerializer(dados).data)
