"""One error shape for the whole API: {"erro": "<mensagem>", "detalhes": {...}}, in Portuguese."""

from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
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
        return _endereco_nao_encontrado(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


@csrf_exempt  # a 404 either way; without this a POST would get CSRF's 403 HTML page first
def rota_inexistente(request, caminho=""):
    """The last /api/ route. With it every /api/ path resolves, so CommonMiddleware's APPEND_SLASH never
    fires there: a GET of a real route without its trailing slash is redirected here instead, and any
    other method gets the 404 with a hint (a redirected POST would lose its body)."""
    com_barra = not request.path.endswith("/") and _rota_real(request.path_info + "/")
    if com_barra and request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return _endereco_nao_encontrado(request, dica=f"Use {request.path}/ (com a barra no fim)." if com_barra else None)


def _rota_real(caminho: str) -> bool:
    try:
        return resolve(caminho).func is not rota_inexistente
    except Resolver404:
        return False


def _endereco_nao_encontrado(request, dica: str | None = None) -> JsonResponse:
    detalhes = {"caminho": request.path, **({"dica": dica} if dica else {})}
    return JsonResponse({"erro": "Endereço não encontrado.", "detalhes": detalhes}, status=404)


def erro_interno(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"erro": "Erro interno do servidor.", "detalhes": {}}, status=500)
    from django.views.defaults import server_error

    return server_error(request)
