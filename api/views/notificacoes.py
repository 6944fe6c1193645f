"""The caller's own e-mail notification preferences. Thin: the rules live in core.notifications."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers.notificacoes import PreferenciasSerializer
from core.notifications import atualizar_preferencias, preferencias_de


class PreferenciasView(APIView):
    """Quais notificações por e-mail você recebe (cada usuário escolhe as suas)."""

    @extend_schema(responses=PreferenciasSerializer, summary="Suas preferências de notificação por e-mail")
    def get(self, request):
        preferencia = preferencias_de(request.user, request.organizacao)
        return Response(PreferenciasSerializer(preferencia).data)

    @extend_schema(
        request=PreferenciasSerializer,
        responses=PreferenciasSerializer,
        summary="Liga ou desliga notificações por e-mail",
    )
    def patch(self, request):
        """Envie só os campos que mudam, ex.: {"nfe_importada": false}. Campo desconhecido responde 400."""
        entrada = PreferenciasSerializer(data=request.data, partial=True)
        entrada.is_valid(raise_exception=True)
        preferencia = atualizar_preferencias(
            usuario=request.user, organizacao=request.organizacao, campos=dict(entrada.validated_data)
        )
        return Response(PreferenciasSerializer(preferencia).data)
