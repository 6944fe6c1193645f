"""The organization's API tokens, for its administrators. Thin: the rules live in core.tokens."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from api.base import DaOrganizacaoMixin
from api.permissoes import AdministradorDaOrganizacao
from api.serializers import tokens as s
from core.models import TokenDeAPI
from core.tokens import criar_token, revogar_token, usuario_da_organizacao


@extend_schema_view(
    list=extend_schema(description="Os tokens da organização, revogados inclusive; a chave nunca aparece."),
)
class TokenViewSet(DaOrganizacaoMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Tokens de API da organização (somente administradores)."""

    model = TokenDeAPI
    serializer_class = s.TokenSerializer
    permission_classes = [AdministradorDaOrganizacao]
    lookup_value_regex = r"\d+"
    pagination_class = None

    def get_queryset(self):
        return super().get_queryset().select_related("usuario")

    @extend_schema(request=s.NovoTokenSerializer, responses={201: s.TokenCriadoSerializer})
    def create(self, request):
        """Cria um token. A resposta traz a `chave`: ela não aparece de novo em nenhuma outra resposta."""
        pedido = s.NovoTokenSerializer(data=request.data)
        pedido.is_valid(raise_exception=True)
        dados = pedido.validated_data
        usuario = request.user
        if dados.get("usuario") not in (None, request.user.pk):
            usuario = usuario_da_organizacao(self.organizacao, dados["usuario"])
        novo = criar_token(
            organizacao=self.organizacao, usuario=usuario, nome=dados["nome"],
            expira_em=dados.get("expira_em"), criado_por=request.user,
        )  # fmt: skip
        novo.token.chave = novo.chave
        return Response(s.TokenCriadoSerializer(novo.token).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.TokenSerializer)
    @action(detail=True, methods=["post"])
    def revogar(self, request, pk=None):
        """Revoga o token: a próxima requisição com ele recebe 401. Ele continua na lista, com `revogado_em`."""
        return Response(s.TokenSerializer(revogar_token(self.get_object())).data)
