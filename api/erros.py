"""One error shape for the whole API: {"erro": "<mensagem>", "detalhes": {...}}, in Portuguese."""

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from core.erros import EntradaInvalida

MENSAGENS = {
    exceptions.NotAuthenticated: "Credenciais de autenticação não foram fornecidas.",
    exceptions.AuthenticationFailed: "Token inválido ou usuário inativo.",
    exceptions.NotFound: "Não encontrado.",
    exceptions.MethodNotAllowed: "Método não permitido.",
    exceptions.UnsupportedMediaType: "Tipo de conteúdo não suportado.",
    exceptions.Throttled: "Muitas requisições.",
}


class Conflito(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "O recurso não está num estado que permita esta operação."
    default_code = "conflito"


def tratar_excecao(excecao, contexto):
    """DRF's handler, with its body reshaped into {"erro", "detalhes"}.

    A domain `EntradaInvalida` is a 400 on the field it names, wherever in the view it was raised.
    """
    if isinstance(excecao, EntradaInvalida):
        excecao = exceptions.ValidationError({excecao.campo: [str(excecao)]})
    resposta = exception_handler(excecao, contexto)
    if resposta is None:
        return None
    detalhes = resposta.data if isinstance(resposta.data, (dict, list)) else {}
    if isinstance(excecao, exceptions.ValidationError):
        erro = "Parâmetros inválidos."
        if isinstance(detalhes, list):
            detalhes = {"nao_campo": detalhes}
    else:
        erro = _mensagem(excecao, detalhes)
        detalhes = {k: v for k, v in detalhes.items() if k != "detail"} if isinstance(detalhes, dict) else {}
    resposta.data = {"erro": erro, "detalhes": detalhes}
    return resposta


def _mensagem(excecao, detalhes) -> str:
    if isinstance(excecao, (exceptions.NotFound, Http404)):
        return MENSAGENS[exceptions.NotFound]  # Django's Http404 text is English and names models
    detalhe = detalhes.get("detail") if isinstance(detalhes, dict) else None
    padrao = next((m for tipo, m in MENSAGENS.items() if type(excecao) is tipo), None)
    if detalhe is not None and str(detalhe) != str(getattr(type(excecao), "default_detail", "")):
        return str(detalhe)  # a view's own message is more precise than the generic one
    return padrao or str(detalhe or excecao)


def nao_encontrado(request, exception=None):
    """handler404 for /api/ paths: JSON like every other API error; HTML elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"erro": "Endereço não encontrado.", "detalhes": {"caminho": request.path}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def erro_interno(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"erro": "Erro interno do servidor.", "detalhes": {}}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
