"""Uploading XMLs/ZIPs and reading the import log. Thin: the pipeline lives in core.documentos."""

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import TooManyFilesSent
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import DaOrganizacaoMixin
from api.envio import LimiteDoEnvio
from api.erros import Conflito
from api.filtros import ImportLogFilterSet
from api.paginacao import PaginacaoPorData
from api.serializers.importacao import (
    ImportacaoSerializer,
    ImportarSerializer,
    ImportLogSerializer,
    ReprocessamentoSerializer,
)
from core.documentos.entrada import Limites, parece_zip
from core.documentos.importacao import importar
from core.documentos.reprocessamento import ReprocessamentoImpossivel, bytes_guardados, reprocessar
from core.models import ImportLog, Origem


class ImportarView(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: the CSRF check of a session login parses it too.
        self.limites = Limites.das_configuracoes().para_um_envio()
        self.limite_do_envio = LimiteDoEnvio(request, self.limites)
        request.upload_handlers = [self.limite_do_envio, *request.upload_handlers]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="importar",
        request={"multipart/form-data": ImportarSerializer},
        responses={200: ImportacaoSerializer, 413: OpenApiResponse(description="Corpo maior que o limite do envio")},
        summary="Importa XMLs de NF-e/CT-e (ou ZIPs de XMLs)",
    )
    def post(self, request):
        """Cada arquivo (XML ou ZIP) passa pela mesma importação do comando importar_xml.

        Responde 200 com um resultado por documento (sucesso, duplicado ou erro), mesmo quando
        algum arquivo falha (um arquivo acima do limite é um erro desse arquivo); 400 quando nenhum
        arquivo foi enviado; 413, sem ler os arquivos, quando o corpo passa do limite do envio.
        """
        dados = _dados_do_envio(request)
        self.limite_do_envio.conferir()
        envio = ImportarSerializer(data=dados)
        envio.is_valid(raise_exception=True)
        resultados = list(
            importar(
                organizacao=request.organizacao,
                entradas=envio.entradas(),
                origem=Origem.UPLOAD,
                usuario=request.user,
                limites=self.limites,  # one budget for every file of this upload
            )
        )
        return Response(ImportacaoSerializer.de_resultados(resultados, context={"request": request}).data)


def _dados_do_envio(request):
    try:
        return request.data
    except TooManyFilesSent:
        # Django stops parsing at the limit (a SuspiciousOperation, a bare HTML 400); answer like any bad field.
        limite = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        mensagem = f"No máximo {limite} arquivos por envio; envie o restante em outro envio ou junte-os num ZIP."
        raise ValidationError({"arquivos": [mensagem]}) from None


class ImportacoesView(DaOrganizacaoMixin, generics.ListAPIView):
    """Registro de cada arquivo (ou entrada de ZIP) que a organização tentou importar, do mais recente."""

    model = ImportLog
    serializer_class = ImportLogSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ImportLogFilterSet
    pagination_class = PaginacaoPorData

    def get_queryset(self):
        return super().get_queryset().select_related("usuario")


class ImportacaoMixin(DaOrganizacaoMixin):
    """One attempt of the caller's organization; another organization's id is a 404."""

    model = ImportLog

    def importacao(self, pk: int) -> ImportLog:
        return generics.get_object_or_404(self.get_queryset().select_related("reprocessado_de"), pk=pk)


RESPOSTAS_SEM_ARQUIVO = {
    404: OpenApiResponse(description="Importação não encontrada na organização"),
    409: OpenApiResponse(
        description="O arquivo desta importação não foi guardado (acima do limite de tamanho, ou anterior ao registro dos arquivos)"
    ),
}  # fmt: skip


class ImportacaoXMLView(ImportacaoMixin, APIView):
    @extend_schema(
        operation_id="importacao_xml",
        summary="Os bytes que uma importação recebeu, como chegaram",
        responses={(200, "application/xml"): OpenApiTypes.BINARY, (200, "application/zip"): OpenApiTypes.BINARY,
                   **RESPOSTAS_SEM_ARQUIVO},
    )  # fmt: skip
    def get(self, request, pk: int):
        """O arquivo (ou a entrada de ZIP) desta tentativa, byte a byte, também quando ela falhou."""
        log = self.importacao(pk)
        conteudo = _guardados(log)
        tipo = "application/zip" if parece_zip(conteudo) else "application/xml"
        resposta = HttpResponse(conteudo, content_type=tipo)
        nome = PurePosixPath(log.arquivo.replace("\\", "/")).name or f"importacao-{log.pk}.xml"
        resposta["Content-Disposition"] = f'attachment; filename="{_nome_seguro(nome)}"'
        return resposta


class ReprocessarView(ImportacaoMixin, APIView):
    @extend_schema(
        operation_id="importacao_reprocessar",
        request=None,
        responses={200: ReprocessamentoSerializer, **RESPOSTAS_SEM_ARQUIVO},
        summary="Roda a importação de novo sobre os bytes guardados",
    )
    def post(self, request, pk: int):
        """Uma nova tentativa sobre o mesmo arquivo, registrada como um novo log que aponta para a primeira.

        Idempotente: um documento já guardado responde `duplicado` (com o link); um arquivo que falha de
        novo responde `erro` com o motivo. Os registros antigos não mudam.
        """
        log = self.importacao(pk)
        try:
            resultados = reprocessar(log, usuario=request.user)
        except ReprocessamentoImpossivel as erro:
            raise Conflito(str(erro)) from erro
        original = log.reprocessado_de or log
        return Response(ReprocessamentoSerializer.de_resultados(original, resultados, context={"request": request}).data)


def _guardados(log: ImportLog) -> bytes:
    try:
        return bytes_guardados(log)
    except ReprocessamentoImpossivel as erro:
        raise Conflito(str(erro)) from erro


def _nome_seguro(nome: str) -> str:
    """A header value: no quotes, no line breaks, ASCII (the original name stays in `arquivo`)."""
    return "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in nome)
