"""Cursor pagination by default (stable while documents keep arriving); limit/offset on request."""

from rest_framework.pagination import CursorPagination, LimitOffsetPagination

LIMITE_PADRAO = 50
LIMITE_MAXIMO = 500


class PaginacaoPorCursor(CursorPagination):
    page_size = LIMITE_PADRAO
    page_size_query_param = "limit"
    max_page_size = LIMITE_MAXIMO
    ordering = ("-data_emissao", "-id")
    cursor_query_param = "cursor"


class PaginacaoPorDeslocamento(LimitOffsetPagination):
    default_limit = LIMITE_PADRAO
    max_limit = LIMITE_MAXIMO


class PaginacaoDocumentos(PaginacaoPorCursor):
    """Cursor pages, unless the client sends `?offset=` and asks for numbered pages."""

    def _escolhida(self, request):
        if request is not None and "offset" in request.query_params:
            return PaginacaoPorDeslocamento()
        return None

    def paginate_queryset(self, queryset, request, view=None):
        self._delegada = self._escolhida(request)
        if self._delegada is not None:
            return self._delegada.paginate_queryset(queryset, request, view)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self._delegada is not None:
            return self._delegada.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_schema_operation_parameters(self, view):
        cursor = super().get_schema_operation_parameters(view)
        offset = [p for p in PaginacaoPorDeslocamento().get_schema_operation_parameters(view) if p["name"] == "offset"]
        return cursor + offset


class PaginacaoPorData(PaginacaoDocumentos):
    """For logs and other rows ordered by creation time."""

    ordering = ("-criado_em", "-id")
