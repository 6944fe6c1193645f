"""Cursor pagination by default (stable while documents keep arriving); limit/offset on request.

`limit`, `offset` and `cursor` are strict: a value out of range or not a number answers 400 naming the
parameter, where DRF would silently fall back to its default (or cap `limit` at the maximum).
"""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination

LIMITE_PADRAO = 50
LIMITE_MAXIMO = 500


def inteiro_do_pedido(request, nome: str, padrao: int, minimo: int, maximo: int | None = None) -> int:
    """The integer query parameter `nome`, or `padrao` when absent or empty; 400 naming it otherwise."""
    texto = request.query_params.get(nome, "").strip()
    if not texto:
        return padrao
    try:
        valor = int(texto)
    except ValueError:
        raise ValidationError({nome: [f"{texto!r} não é um número inteiro."]}) from None
    if valor < minimo or (maximo is not None and valor > maximo):
        faixa = f"de {minimo} a {maximo}" if maximo is not None else f"a partir de {minimo}"
        raise ValidationError({nome: [f"{valor} está fora do intervalo aceito ({faixa})."]})
    return valor


class PaginacaoPorCursor(CursorPagination):
    page_size = LIMITE_PADRAO
    page_size_query_param = "limit"
    max_page_size = LIMITE_MAXIMO
    ordering = ("-data_emissao", "-id")
    cursor_query_param = "cursor"
    page_size_query_description = f"Itens por página, de 1 a {LIMITE_MAXIMO} (padrão {LIMITE_PADRAO}); fora disso, 400."
    cursor_query_description = "O cursor de `next` ou `previous` de uma resposta anterior; outro valor, 400."

    def get_page_size(self, request):
        return inteiro_do_pedido(request, self.page_size_query_param, self.page_size, 1, self.max_page_size)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            # A 404 would read as "the list is gone"; the parameter is what is wrong.
            mensagem = "Cursor inválido: use o endereço de `next` ou `previous` de uma resposta."
            raise ValidationError({self.cursor_query_param: [mensagem]}) from None


class PaginacaoPorDeslocamento(LimitOffsetPagination):
    default_limit = LIMITE_PADRAO
    max_limit = LIMITE_MAXIMO
    offset_query_description = "Quantos itens pular (0 ou mais): páginas numeradas, e a resposta traz `count`."

    def get_limit(self, request):
        return inteiro_do_pedido(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return inteiro_do_pedido(request, self.offset_query_param, 0, 0)


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
