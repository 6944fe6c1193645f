"""GET /api/dashboard/. Thin: the numbers come from core.consultas.dashboard."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.painel import PainelSerializer
from core.consultas.dashboard import painel


class PainelView(APIView):
    @extend_schema(operation_id="dashboard", responses=PainelSerializer, summary="Painel da organização")
    def get(self, request):
        """Hoje e este mês (quantidade, valor, IBS e CBS de NF-e e CT-e pela data de emissão, no fuso do
        sistema; NF-e só de operação, com todas separadas por finalidade em `nfe_por_finalidade`), as últimas
        importações, os erros de importação das últimas 24 horas e as NF-e que aguardam o XML completo."""
        return Response(PainelSerializer(painel(organizacao=request.organizacao), context={"request": request}).data)
