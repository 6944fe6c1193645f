"""Query-string filters of the document lists (django-filter). Bad values answer 400 naming the field."""

from datetime import datetime, time, timedelta
from datetime import UTC

import django_filters as filtros
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError as ErroDeParametro
from rest_framework.filters import OrderingFilter

from core.consultas.reforma import com_reforma
from core.documentos.chave import somente_documento
from core.documentos.manifestacao_estado import condicao_pendente
from core.eventos.catalogo import TIPOS
from core.models import (
    ClasseDeFalha, ConsultaSEFAZ, CTe, EstadoAssinatura, EstadoManifestacao, EventoDocumento, Finalidade, ImportLog, NFe, OutroDocumento,
    Servico, Situacao, WebhookLog,
)  # fmt: skip

UFS = sorted(
    ["AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS", "MT", "PA", "PB", "PE", "PI",
     "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO", "EX"]
)  # fmt: skip


class DocumentoField(forms.CharField):
    """A CNPJ (numeric or alphanumeric) or CPF, with or without mask."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        documento = somente_documento(value)
        if len(documento) not in (11, 14) or not documento.isalnum():
            raise ValidationError("%(valor)r não é um CNPJ (14) ou CPF (11)", params={"valor": value})
        return documento


class DataOuDataHoraField(forms.CharField):
    """`2026-11-29` or `2026-11-29T10:00:00-03:00`; a bare date means the whole day, local time."""

    def __init__(self, *args, fim_do_dia=False, **kwargs):
        self.fim_do_dia = fim_do_dia
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        # A bare date must be checked first: parse_datetime() also accepts "2026-11-29" as midnight.
        dia = _data(value) if len(value) == 10 else None
        momento = datetime.combine(dia, time.max if self.fim_do_dia else time.min) if dia else _data_hora(value)
        if momento is None:
            raise ValidationError("%(valor)r não é uma data (AAAA-MM-DD) nem data e hora ISO 8601", params={"valor": value})
        if not 1900 <= momento.year <= 2999:
            raise ValidationError("%(valor)r está fora do intervalo aceito (anos 1900 a 2999)", params={"valor": value})
        momento = momento if timezone.is_aware(momento) else timezone.make_aware(momento)
        # In UTC: PostgreSQL refuses exotic offsets such as -20:28 that Python parses happily.
        return momento.astimezone(UTC)


def _data(texto):
    try:
        return parse_date(texto)
    except ValueError:
        return None


def _data_hora(texto):
    try:
        return parse_datetime(texto)
    except ValueError:
        return None


class DataFilter(filtros.Filter):
    field_class = DataOuDataHoraField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fim_do_dia", kwargs.get("lookup_expr") == "lte")
        super().__init__(*args, **kwargs)


class BooleanoField(forms.CharField):
    """true/false (also 1/0, sim/nao); anything else is an error instead of being silently ignored."""

    VALORES = {"true": True, "1": True, "sim": True, "false": False, "0": False, "nao": False, "não": False}

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        if value.lower() not in self.VALORES:
            raise ValidationError("%(valor)r não é booleano (use true ou false)", params={"valor": value})
        return self.VALORES[value.lower()]


class BooleanoFilter(filtros.BooleanFilter):
    field_class = BooleanoField


class DocumentoFilter(filtros.CharFilter):
    field_class = DocumentoField


class UFFilter(filtros.ChoiceFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, choices=[(uf, uf) for uf in UFS], **kwargs)


class OrdenacaoEstrita(OrderingFilter):
    """`ordering=` with a field the view does not sort by answers 400 naming `ordering`; DRF drops it
    silently, and a client then reads a list in an order it did not ask for."""

    def remove_invalid_fields(self, queryset, fields, view, request):
        fields = [termo for termo in fields if termo]  # "ordering=numero," is not an error
        validos = [campo for campo, _ in self.get_valid_fields(queryset, view, {"request": request})]
        invalidos = [termo for termo in fields if termo.removeprefix("-") not in validos]
        if invalidos:
            aceitos = ", ".join(validos)
            mensagem = "{!r} não é uma ordenação aceita; use {} (com - na frente, decrescente)."
            raise ErroDeParametro({self.ordering_param: [mensagem.format(termo, aceitos) for termo in invalidos]})
        return fields


class DocumentoFiscalFilterSet(filtros.FilterSet):
    data_inicio = DataFilter(field_name="data_emissao", lookup_expr="gte", label="Emitido a partir de (data ou data e hora)")
    data_fim = DataFilter(field_name="data_emissao", lookup_expr="lte", label="Emitido até (data ou data e hora)")
    emitente = DocumentoFilter(field_name="emitente_documento", label="CNPJ/CPF do emitente")
    destinatario = DocumentoFilter(field_name="destinatario_documento", label="CNPJ/CPF do destinatário")
    emitente_uf = UFFilter()
    destinatario_uf = UFFilter()
    situacao = filtros.MultipleChoiceFilter(choices=Situacao.choices)
    assinatura = filtros.MultipleChoiceFilter(
        choices=EstadoAssinatura.choices,
        label="Estado da assinatura: valida (ICP-Brasil), cadeia_desconhecida, ausente (resumo), invalida",
    )
    completa = BooleanoFilter()
    numero = filtros.NumberFilter(min_value=1)
    serie = filtros.NumberFilter(min_value=0)

    class Meta:
        fields = []


class ReformaFilterSet(DocumentoFiscalFilterSet):
    """The tax reform's figures (IBS, CBS): a document without the group has NULL, so any range leaves it out."""

    valor_ibs_min = filtros.NumberFilter(field_name="valor_ibs", lookup_expr="gte", label="IBS (UF + município) a partir de")
    valor_ibs_max = filtros.NumberFilter(field_name="valor_ibs", lookup_expr="lte", label="IBS (UF + município) até")
    valor_cbs_min = filtros.NumberFilter(field_name="valor_cbs", lookup_expr="gte", label="CBS a partir de")
    valor_cbs_max = filtros.NumberFilter(field_name="valor_cbs", lookup_expr="lte", label="CBS até")
    reforma = BooleanoFilter(
        method="filtrar_reforma", label="true: só documentos com grupo da reforma (IBS/CBS/IS); false: só os sem"
    )

    class Meta(DocumentoFiscalFilterSet.Meta):
        pass

    def filtrar_reforma(self, documentos, _nome, valor):
        condicao = com_reforma(documentos.model)
        return documentos.filter(condicao) if valor else documentos.exclude(condicao)


class NFeFilterSet(ReformaFilterSet):
    valor_min = filtros.NumberFilter(field_name="valor_total", lookup_expr="gte")
    valor_max = filtros.NumberFilter(field_name="valor_total", lookup_expr="lte")
    modelo = filtros.ChoiceFilter(choices=[("55", "NF-e"), ("65", "NFC-e")])
    tipo_operacao = filtros.ChoiceFilter(choices=NFe.TipoOperacao.choices)
    finalidade = filtros.MultipleChoiceFilter(
        choices=Finalidade.choices,
        label="finNFe, repetível: 1 normal, 2 complementar, 3 ajuste, 4 devolução, 5 nota de crédito, 6 nota de débito",
    )
    manifestacao = filtros.ChoiceFilter(
        choices=[("pendente", "pendente"), ("nenhuma", "nenhuma"), *((v, v) for v in EstadoManifestacao.values if v)],
        method="filtrar_manifestacao",
        label="Manifestação que vale; pendente: NF-e destinada à organização, sem manifestação conclusiva e no prazo",
    )
    prazo_manifestacao_ate = DataFilter(field_name="prazo_manifestacao", lookup_expr="lte",
                                        label="Prazo da manifestação até (data ou data e hora)")  # fmt: skip
    manifestacao_vence_em_dias = filtros.NumberFilter(
        method="filtrar_vence_em_dias", min_value=0, max_value=180,
        label="Prazo da manifestação vence nos próximos N dias (ainda não vencido)",
    )  # fmt: skip

    def filtrar_manifestacao(self, nfes, _nome, valor):
        if valor == "pendente":
            return nfes.filter(condicao_pendente(self.request.organizacao))
        return nfes.filter(manifestacao="" if valor == "nenhuma" else valor)

    def filtrar_vence_em_dias(self, nfes, _nome, valor):
        agora = timezone.now()
        return nfes.filter(prazo_manifestacao__gt=agora, prazo_manifestacao__lte=agora + timedelta(days=int(valor)))

    class Meta(DocumentoFiscalFilterSet.Meta):
        model = NFe


class CTeFilterSet(ReformaFilterSet):
    valor_min = filtros.NumberFilter(field_name="valor_prestacao", lookup_expr="gte")
    valor_max = filtros.NumberFilter(field_name="valor_prestacao", lookup_expr="lte")
    modelo = filtros.ChoiceFilter(choices=[("57", "CT-e"), ("67", "CT-e OS")])
    modal = filtros.ChoiceFilter(choices=[(m, m) for m in ("01", "02", "03", "04", "05", "06")])
    uf_inicio = UFFilter()
    uf_fim = UFFilter()
    municipio_inicio = filtros.CharFilter(field_name="codigo_municipio_inicio", label="Código IBGE do município de início")
    municipio_fim = filtros.CharFilter(field_name="codigo_municipio_fim", label="Código IBGE do município de fim")
    tomador = DocumentoFilter(field_name="tomador_documento", label="CNPJ/CPF do tomador")

    class Meta(DocumentoFiscalFilterSet.Meta):
        model = CTe


class ImportLogFilterSet(filtros.FilterSet):
    status = filtros.MultipleChoiceFilter(choices=ImportLog.Status.choices)
    origem = filtros.ChoiceFilter(choices=[("upload", "upload"), ("pasta", "pasta"), ("sefaz", "sefaz")])
    chave = filtros.CharFilter()
    desde = DataFilter(field_name="criado_em", lookup_expr="gte")
    ate = DataFilter(field_name="criado_em", lookup_expr="lte")

    class Meta:
        model = ImportLog
        fields = []


class WebhookLogFilterSet(filtros.FilterSet):
    status = filtros.MultipleChoiceFilter(choices=WebhookLog.Status.choices)
    classe_falha = filtros.MultipleChoiceFilter(choices=ClasseDeFalha.choices, help_text="Classe da falha")
    evento = filtros.MultipleChoiceFilter(
        field_name="evento__tipo", choices=[(nome, nome) for nome in TIPOS], help_text="Tipo do evento"
    )
    evento_id = filtros.CharFilter(field_name="evento_id", help_text="Id do evento (evt_...)")
    desde = DataFilter(field_name="criado_em", lookup_expr="gte")
    ate = DataFilter(field_name="criado_em", lookup_expr="lte")

    class Meta:
        model = WebhookLog
        fields = []


class ConsultaSEFAZFilterSet(filtros.FilterSet):
    certificado = filtros.NumberFilter(field_name="certificado_id")
    servico = filtros.ChoiceFilter(choices=Servico.choices)
    tipo = filtros.MultipleChoiceFilter(choices=ConsultaSEFAZ.Tipo.choices)
    cstat = filtros.NumberFilter()
    execucao = filtros.CharFilter()
    com_erro = BooleanoFilter(method="filtrar_com_erro", help_text="true: só chamadas sem resposta da SEFAZ")
    desde = DataFilter(field_name="criada_em", lookup_expr="gte")
    ate = DataFilter(field_name="criada_em", lookup_expr="lte")

    class Meta:
        model = ConsultaSEFAZ
        fields = []

    def filtrar_com_erro(self, consultas, _nome, valor):
        return consultas.exclude(erro="") if valor else consultas.filter(erro="")


class OutroDocumentoFilterSet(DocumentoFiscalFilterSet):
    tipo = filtros.ChoiceFilter(choices=OutroDocumento.Tipo.choices)

    class Meta(DocumentoFiscalFilterSet.Meta):
        model = OutroDocumento


class EventoPendenteFilterSet(filtros.FilterSet):
    chave = filtros.CharFilter()
    tipo_evento = filtros.CharFilter()
    tipo_documento = filtros.ChoiceFilter(choices=EventoDocumento._meta.get_field("tipo_documento").choices)

    class Meta:
        model = EventoDocumento
        fields = []
