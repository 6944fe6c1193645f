"""Events: the catalogue and the pull feed."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.documentos.tipos_evento import TIPOS_DE_EVENTO, Autor, Categoria
from core.eventos.catalogo import TIPOS
from core.eventos.feed import eventos_apos
from core.models import TipoDocumento

LIMITE_MAXIMO = 500


class ParametrosFeed(serializers.Serializer):
    apos = serializers.RegexField(r"^evt_[0-9A-Z]{26}$", required=False, allow_blank=True,
                                  help_text="Id do último evento já processado (o `cursor` da resposta anterior)")
    tipo = serializers.MultipleChoiceField(choices=list(TIPOS), required=False)
    limit = serializers.IntegerField(min_value=1, max_value=LIMITE_MAXIMO, default=100)


class EventosView(APIView):
    """Todos os eventos da organização na ordem em que aconteceram, a partir de um cursor."""

    @extend_schema(
        parameters=[
            OpenApiParameter("apos", str, description="Id do último evento processado"),
            OpenApiParameter("tipo", str, many=True, enum=list(TIPOS)),
            OpenApiParameter("limit", int, description=f"1 a {LIMITE_MAXIMO} (padrão 100)"),
        ],
        responses=inline_serializer(
            "FeedDeEventos",
            {
                "eventos": serializers.ListField(child=serializers.DictField()),
                "cursor": serializers.CharField(help_text="Envie como `apos` na próxima chamada"),
                "tem_mais": serializers.BooleanField(),
            },
        ),
    )
    def get(self, request):
        parametros = ParametrosFeed(data={**request.query_params.dict(), "tipo": request.query_params.getlist("tipo")})
        parametros.is_valid(raise_exception=True)
        dados = parametros.validated_data
        limite = dados["limit"]
        eventos = eventos_apos(
            organizacao=request.organizacao, apos=dados.get("apos", ""), tipos=list(dados.get("tipo") or []),
            limite=limite + 1,
        )
        cursor = eventos[:limite][-1]["id"] if eventos else dados.get("apos", "")
        return Response({"eventos": eventos[:limite], "cursor": cursor, "tem_mais": len(eventos) > limite})


class CatalogoDeEventosView(APIView):
    """Os eventos que o fiscal emite, com descrição e um exemplo de `dados` de cada um."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(
            {"eventos": [{"evento": t.nome, "descricao": t.descricao, "exemplo": t.exemplo} for t in TIPOS.values()]}
        )


class TipoDeEventoSerializer(serializers.Serializer):
    codigo = serializers.CharField(help_text="tpEvento")
    documento = serializers.ChoiceField(choices=TipoDocumento.choices)
    nome = serializers.CharField(help_text="descEvento do esquema, com acentos")
    significado = serializers.CharField()
    categoria = serializers.ChoiceField(choices=Categoria.choices)
    autor = serializers.ChoiceField(choices=Autor.choices, help_text="Quem assina o evento")
    esquema = serializers.CharField(help_text="Arquivo XSD oficial de onde vêm o código e o nome")
    cancela = serializers.ListField(child=serializers.CharField(), help_text="Tipos de evento que este cancela")


class ParametrosTiposDeEvento(serializers.Serializer):
    documento = serializers.ChoiceField(choices=["nfe", "cte"], required=False, allow_blank=True)


class TiposDeEventoView(APIView):
    """Os tipos de evento fiscal (NF-e e CT-e) que o fiscal reconhece, com nome, significado e categoria."""

    @extend_schema(
        parameters=[OpenApiParameter("documento", str, enum=["nfe", "cte"], description="Só os de NF-e ou de CT-e")],
        responses=inline_serializer("TiposDeEvento", {"tipos_de_evento": TipoDeEventoSerializer(many=True)}),
    )
    def get(self, request):
        parametros = ParametrosTiposDeEvento(data=request.query_params)
        parametros.is_valid(raise_exception=True)  # "documento=nf-e" is a 400, not an empty list
        documento = parametros.validated_data.get("documento", "")
        tipos = [t for t in TIPOS_DE_EVENTO.values() if documento in ("", t.documento)]
        return Response({"tipos_de_evento": TipoDeEventoSerializer(tipos, many=True).data})
