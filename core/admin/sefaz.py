"""Admin for the SEFAZ capture: A1 certificates (upload form), the organization's defaults, and the
read-only cursors and query history. Scoped like the rest of the admin (`DaOrganizacaoAdmin`).

The forms deliberately map no model field (`fields = []`): every value goes through core.certificados,
which validates and normalises it, so the admin cannot store something the API would refuse. The PFX
and its password are never rendered, not even back into a form that failed validation.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from ..certificados import (
    CertificadoInvalido,
    OpcaoInvalida,
    atualizar_certificado,
    atualizar_configuracao,
    configuracao_da_organizacao,
    dias_para_vencer,
    excluir_certificado,
    gravar_certificado,
    preparar_certificado,
    validar_alteracao,
)
from ..certificados.a1 import TAMANHO_MAXIMO_PFX
from ..certificados.opcoes import (
    CAMPOS_DA_CONFIGURACAO,
    INTERVALO_MAXIMO_MINUTOS,
    sigla_da_uf,
    validar_configuracao,
)
from ..documentos.chave import UF_POR_CODIGO, somente_documento
from ..formatacao import formatar_documento
from ..models import (
    Ambiente,
    CertificadoDigital,
    ConfiguracaoConsulta,
    ConsultaSEFAZ,
    CursorDistribuicao,
    Organizacao,
)
from ..models.sefaz import (
    INTERVALO_MINIMO_MINUTOS,
    Manifestacao,
    Servico,
    TentativaDeManifestacao,
)
from ..tenancy import escopo
from .base import (
    ApagadoSoEmCascataMixin,
    BuscaSemMascaraMixin,
    CamposLegiveisMixin,
    DaOrganizacaoAdmin,
    ListaEnxutaMixin,
    SomenteLeituraMixin,
    organizacao_do_admin,
)

OPCOES = ["nome", "uf", "ambiente", "consulta_automatica", "intervalo_minutos", "servicos", "ciencia_automatica"]
AVISAR_COM_DIAS = 30


class PadraoOuSimNao(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Padrão da organização"), ("true", "Sim"), ("false", "Não")]


class OpcoesForm(forms.ModelForm):
    """The capture options of a certificate; empty means "the organization's default"."""

    nome = forms.CharField(required=False, max_length=100, help_text="Apelido livre")
    uf = forms.ChoiceField(
        required=False, label="UF (cUFAutor)", help_text="Obrigatória para a consulta automática",
        choices=[("", "—")] + sorted(((c, f"{uf} ({c})") for c, uf in UF_POR_CODIGO.items()), key=lambda x: x[1]),
    )  # fmt: skip
    ambiente = forms.TypedChoiceField(choices=Ambiente.choices, coerce=int, initial=Ambiente.PRODUCAO)
    consulta_automatica = forms.BooleanField(required=False, label="Consulta automática")
    intervalo_minutos = forms.IntegerField(
        required=False, min_value=INTERVALO_MINIMO_MINUTOS, max_value=INTERVALO_MAXIMO_MINUTOS,
        label="Intervalo (minutos)", help_text="Vazio = o padrão da organização",
    )  # fmt: skip
    servicos = forms.MultipleChoiceField(
        required=False, choices=Servico.choices, widget=forms.CheckboxSelectMultiple, label="Serviços",
        help_text="Nenhum marcado = o padrão da organização",
    )  # fmt: skip
    ciencia_automatica = forms.NullBooleanField(required=False, widget=PadraoOuSimNao, label="Ciência automática")

    class Meta:
        model = CertificadoDigital
        fields = []

    def _post_clean(self):
        # No model validation here: core.certificados validated everything in clean(), and the model's
        # own checks would run against fields the form only shares a name with (`senha`).
        pass

    def opcoes(self) -> dict:
        valores = {nome: self.cleaned_data.get(nome) for nome in OPCOES}
        valores["servicos"] = valores["servicos"] or None
        valores["nome"] = valores["nome"] or ""
        return valores

    def mostrar_erro(self, erro: ValueError) -> None:
        campo = getattr(erro, "campo", None)
        self.add_error(campo if campo in self.fields else None, str(erro))


class AdicionarCertificadoForm(OpcoesForm):
    arquivo = forms.FileField(label="Arquivo do certificado A1 (.pfx ou .p12)")
    # render_value=False: a form that failed validation comes back without the password.
    senha = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False))
    organizacao_fixa = None  # set per request by the admin; None for a superuser, who chooses

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.organizacao_fixa is None:
            self.fields["organizacao"] = forms.ModelChoiceField(Organizacao.objects.all(), label="Organização")

    def clean(self):
        dados = super().clean()
        organizacao = self.organizacao_fixa or dados.get("organizacao")
        if self.errors or organizacao is None:
            return dados
        conteudo = dados["arquivo"].read(TAMANHO_MAXIMO_PFX + 1)
        try:
            self.instance = preparar_certificado(organizacao, conteudo, dados.get("senha") or "", **self.opcoes())
        except (CertificadoInvalido, OpcaoInvalida) as erro:
            self.mostrar_erro(erro)
        return dados


class AlterarCertificadoForm(OpcoesForm):
    resolver_problema = forms.BooleanField(
        required=False, label="Marcar o problema como resolvido", help_text="As consultas voltam a ser feitas"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        certificado = self.instance
        for nome in OPCOES:
            self.initial.setdefault(nome, getattr(certificado, nome))
            # The page carries the values it showed, so `changed_data` tells what the person changed
            # (not what differs from the row re-read on submit, which the API may have changed since).
            self.fields[nome].show_hidden_initial = True
        if not certificado.problema:
            del self.fields["resolver_problema"]
        else:
            # When the problem the page showed was recorded: ticking "resolvido" on an old page must not
            # clear a problem the capture recorded after it (nobody has seen that one yet).
            lido_em = forms.CharField(required=False, widget=forms.HiddenInput, empty_value=None)
            self.fields["problema_lido_em"] = lido_em
            self.initial["problema_lido_em"] = _instante(certificado.problema_em)

    def clean(self):
        dados = super().clean()
        if not self.errors:
            try:
                validar_alteracao(self.instance, **self.alteracoes())
            except OpcaoInvalida as erro:
                self.mostrar_erro(erro)
        return dados

    def alteracoes(self) -> dict:
        """Only the options the person changed on the page: the others keep what is stored now."""
        valores = {nome: valor for nome, valor in self.opcoes().items() if nome in self.changed_data}
        if self.cleaned_data.get("resolver_problema") and not self.problema_novo():
            valores["problema"] = ""
        return valores

    def problema_novo(self) -> bool:
        """The stored problem was recorded after the page was opened (a page without the field: no)."""
        lido_em = self.cleaned_data.get("problema_lido_em")
        return lido_em is not None and lido_em != _instante(self.instance.problema_em)


def _instante(momento) -> str:
    return momento.isoformat() if momento else ""


class PorValidade(admin.SimpleListFilter):
    title = "validade"
    parameter_name = "validade"

    def lookups(self, request, model_admin):
        return [("vencido", "Vencido"), ("vencendo", f"Vence em até {AVISAR_COM_DIAS} dias"), ("valido", "Válido")]

    def queryset(self, request, queryset):
        agora = timezone.now()
        limite = agora + timedelta(days=AVISAR_COM_DIAS + 1)
        filtros = {
            "vencido": {"validade_fim__lt": agora},
            "vencendo": {"validade_fim__gte": agora, "validade_fim__lt": limite},
            "valido": {"validade_fim__gte": limite},
        }
        return queryset.filter(**filtros[self.value()]) if self.value() in filtros else queryset


@admin.register(CertificadoDigital)
class CertificadoDigitalAdmin(ListaEnxutaMixin, DaOrganizacaoAdmin):
    so_administradores = True  # upload, options, deletion (core/admin/base.py)
    list_display = ["titular_e_documento", "nome", "validade", "consulta_automatica", "ambiente", "sigla_uf", "problema"]
    list_filter = [PorValidade, "consulta_automatica", "ambiente"]
    search_fields = ["nome", "titular", "=cnpj", "=cpf", "=thumbprint"]
    list_select_related = ["organizacao"]
    adiar_na_lista = ("pfx", "senha")  # never decrypted just to draw the list
    metadados = [
        "organizacao", "cnpj_mascarado", "cpf_mascarado", "titular", "emissor", "numero_serie", "thumbprint", "validade_inicio",
        "validade", "problema", "problema_em", "criado_em", "atualizado_em",
    ]  # fmt: skip

    @method_decorator(sensitive_post_parameters("senha"))
    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None:
            return AlterarCertificadoForm
        organizacao = None if request.user.is_superuser else organizacao_do_admin(request)
        return type("AdicionarCertificadoForm", (AdicionarCertificadoForm,), {"organizacao_fixa": organizacao})

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            arquivo = ["arquivo", "senha"] + (["organizacao"] if request.user.is_superuser else [])
            return [("Certificado", {"fields": arquivo}), ("Captura na SEFAZ", {"fields": OPCOES})]
        opcoes = OPCOES + (["resolver_problema", "problema_lido_em"] if obj.problema else [])
        return [("Certificado", {"fields": self.metadados}), ("Captura na SEFAZ", {"fields": opcoes})]

    def get_readonly_fields(self, request, obj=None):
        return self.metadados if obj is not None else []

    def has_add_permission(self, request):
        # A staff user outside any organization would have nowhere to put the certificate.
        return super().has_add_permission(request) and (
            request.user.is_superuser or organizacao_do_admin(request) is not None
        )

    def save_model(self, request, obj, form, change):
        if change:
            atualizar_certificado(obj, **form.alteracoes())
            if form.cleaned_data.get("resolver_problema") and obj.problema:
                aviso = "Um novo problema foi registrado depois que a página foi aberta e continua pendente: {}"
                self.message_user(request, aviso.format(obj.problema), messages.WARNING)
        else:
            gravar_certificado(obj)

    def delete_model(self, request, obj):
        excluir_certificado(obj)

    def delete_queryset(self, request, queryset):
        for certificado in queryset:
            excluir_certificado(certificado)

    @admin.display(description="Validade", ordering="validade_fim")
    def validade(self, obj):
        dias, data = dias_para_vencer(obj.validade_fim), f"{obj.validade_fim:%d/%m/%Y}"
        if dias < 0:
            # The date goes in formatted: format_html escapes its arguments, and a SafeString has no
            # date format (an expired certificate used to break the whole list).
            return format_html('<strong style="color:#ba2121">vencido em {}</strong>', data)
        texto = f"{data} ({dias} dias)"
        if dias <= AVISAR_COM_DIAS:
            return format_html('<strong style="color:#c86400">{}</strong>', texto)
        return texto

    @admin.display(description="UF", ordering="uf")
    def sigla_uf(self, obj):
        return sigla_da_uf(obj.uf) or "—"

    @admin.display(description="Titular", ordering="titular")
    def titular_e_documento(self, obj):
        return format_html("{}<br><small>{}</small>", obj.titular, formatar_documento(obj.cnpj or obj.cpf))

    @admin.display(description="CNPJ")
    def cnpj_mascarado(self, obj):
        return formatar_documento(obj.cnpj) or "—"

    @admin.display(description="CPF")
    def cpf_mascarado(self, obj):
        return formatar_documento(obj.cpf) or "—"

    def get_search_results(self, request, queryset, search_term):
        encontrados, duplicados = super().get_search_results(request, queryset, search_term)
        documento = somente_documento(search_term)
        if len(documento) in (11, 14) and documento != search_term.strip():  # a masked CNPJ/CPF
            encontrados = encontrados | queryset.filter(Q(cnpj=documento) | Q(cpf=documento))
        return encontrados, duplicados


class ConfiguracaoConsultaForm(forms.ModelForm):
    intervalo_minutos = forms.IntegerField(
        min_value=INTERVALO_MINIMO_MINUTOS, max_value=INTERVALO_MAXIMO_MINUTOS, label="Intervalo (minutos)"
    )
    servicos = forms.MultipleChoiceField(choices=Servico.choices, widget=forms.CheckboxSelectMultiple, label="Serviços")
    ciencia_automatica = forms.BooleanField(required=False, label="Ciência automática")
    destinatarios = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Destinatários",
        help_text="E-mails avisados de problemas na captura (além dos membros), um por linha",
    )  # fmt: skip

    class Meta:
        model = ConfiguracaoConsulta
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for nome in ("intervalo_minutos", "servicos", "ciencia_automatica"):
            self.initial.setdefault(nome, getattr(self.instance, nome))
        self.initial.setdefault("destinatarios", "\n".join(self.instance.destinatarios or []))
        for nome in CAMPOS_DA_CONFIGURACAO:
            # As on the certificate page: the page carries what it showed, so an old page saves only what
            # the person changed, never back over what the API changed since it was opened.
            self.fields[nome].show_hidden_initial = True

    def campos(self) -> dict:
        """Only the options the person changed on the page."""
        return {nome: self.cleaned_data[nome] for nome in CAMPOS_DA_CONFIGURACAO if nome in self.changed_data}

    def clean(self):
        dados = super().clean()
        if not self.errors:
            try:
                validar_configuracao(**self.campos())
            except OpcaoInvalida as erro:
                self.add_error(erro.campo if erro.campo in self.fields else None, str(erro))
        return dados


@admin.register(ConfiguracaoConsulta)
class ConfiguracaoConsultaAdmin(ApagadoSoEmCascataMixin, DaOrganizacaoAdmin):
    """One per organization, created on first use: a member goes straight to theirs."""

    form = ConfiguracaoConsultaForm
    so_administradores = True
    list_display = ["__str__", "intervalo_minutos", "servicos", "ciencia_automatica", "atualizado_em"]
    fields = ["intervalo_minutos", "servicos", "ciencia_automatica", "destinatarios"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        return ConfiguracaoConsultaForm

    def changelist_view(self, request, extra_context=None):
        organizacao = None if request.user.is_superuser else organizacao_do_admin(request)
        if organizacao is None:
            return super().changelist_view(request, extra_context)
        configuracao = configuracao_da_organizacao(organizacao)
        return redirect(reverse("admin:core_configuracaoconsulta_change", args=[configuracao.pk]))

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        atualizar_configuracao(obj, **form.campos())


@admin.register(CursorDistribuicao)
class CursorDistribuicaoAdmin(BuscaSemMascaraMixin, CamposLegiveisMixin, SomenteLeituraMixin, admin.ModelAdmin):
    # Never deleted by hand: losing the NSU position would restart at 0 and trip SEFAZ's 656.
    # A cursor belongs to a CNPJ, shared by the organizations holding its certificate: a member sees the
    # cursors of the CNPJs their organization holds a certificate of.
    list_display = [
        "documento_legivel", "servico", "ambiente", "ult_nsu", "max_nsu", "ultimo_cstat", "proxima_consulta_em",
        "bloqueado_ate", "chamada_em_andamento_em", "certificado",
    ]  # fmt: skip
    list_filter = ["servico", "ambiente", "ultimo_cstat"]
    search_fields = ["=documento"]
    list_select_related = ["certificado"]

    def get_queryset(self, request):
        cursores = super().get_queryset(request)
        if request.user.is_superuser:
            return cursores
        organizacao = organizacao_do_admin(request)
        if organizacao is None:
            return cursores.none()
        certificados = escopo(CertificadoDigital, organizacao)
        documentos = {*certificados.exclude(cnpj="").values_list("cnpj", flat=True),
                      *certificados.exclude(cpf="").values_list("cpf", flat=True)}  # fmt: skip
        return cursores.filter(documento__in=documentos)

    def has_delete_permission(self, request, obj=None):
        return False


class TentativaDeManifestacaoInline(admin.TabularInline):
    model = TentativaDeManifestacao
    fields = ["criada_em", "cstat", "xmotivo", "erro", "origem"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Manifestacao)
class ManifestacaoAdmin(BuscaSemMascaraMixin, CamposLegiveisMixin, ApagadoSoEmCascataMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    list_display = ["chave_legivel", "tipo", "situacao", "tentativas", "cstat", "ultima_tentativa_em", "origem"]
    list_filter = ["situacao", "tipo", "origem"]
    search_fields = ["=chave", "=documento"]
    exclude = ["organizacao"]
    inlines = [TentativaDeManifestacaoInline]


@admin.register(ConsultaSEFAZ)
class ConsultaSEFAZAdmin(BuscaSemMascaraMixin, CamposLegiveisMixin, ApagadoSoEmCascataMixin, SomenteLeituraMixin, DaOrganizacaoAdmin):
    # The audit log of every call made to SEFAZ.
    list_display = [
        "criada_em", "tipo", "servico", "documento_legivel", "ambiente", "cstat", "xmotivo", "documentos", "importados",
        "duracao_ms", "origem",
    ]  # fmt: skip
    list_filter = ["tipo", "servico", "ambiente", "cstat", "origem", "criada_em"]
    search_fields = ["=documento", "=chave_consultada", "=execucao"]
    date_hierarchy = "criada_em"
    exclude = ["organizacao"]
    show_full_result_count = False
