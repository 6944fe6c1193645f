"""Fiscal documents (NF-e, CT-e), their items and events, and the original XML they came from."""

import hashlib
import zlib
from dataclasses import dataclass

from django.db import models

from core.documentos.tipos_evento import Categoria, nome_do_evento, tipo_de_evento
from core.documentos.validacao import CSTAT_CANCELADO, CSTAT_EVENTO_REGISTRADO

from .base import DaOrganizacao

DINHEIRO = {"max_digits": 15, "decimal_places": 2, "default": 0}
# Reform values (NT 2025.002-RTC; DFeTiposBasicos_v1.00.xsd): NULL where the document has no such group,
# which is not the same as a group that says zero. TDec1302RTC is 13.2, TDec_0302_04RTC 3.2-4.
VALOR_REFORMA = {"max_digits": 15, "decimal_places": 2, "null": True, "blank": True}
ALIQUOTA_REFORMA = {"max_digits": 7, "decimal_places": 4, "null": True, "blank": True}


class Situacao(models.TextChoices):
    RESUMO = "resumo", "Resumo (aguardando XML completo)"
    AUTORIZADA = "autorizada", "Autorizada"
    CANCELADA = "cancelada", "Cancelada"
    DENEGADA = "denegada", "Denegada"
    SEM_PROTOCOLO = "sem_protocolo", "Sem protocolo"


class EstadoAssinatura(models.TextChoices):
    # core.documentos.signatario: signed by the emitter (or author) with a certificate that chains to
    # ICP-Brasil; or mathematically valid and the emitter's, but from an authority outside the known chain.
    VALIDA = "valida", "Válida (ICP-Brasil)"
    CADEIA_DESCONHECIDA = "cadeia_desconhecida", "Válida, mas o certificado não é de uma AC ICP-Brasil conhecida"
    AUSENTE = "ausente", "Ausente (resumo)"
    # Stored by an earlier release, refused by today's checks (core.documentos.reverificacao).
    INVALIDA = "invalida", "Inválida (recusada na reconferência)"


class Finalidade(models.IntegerChoices):
    """ide/finNFe (leiauteNFe_v4.00.xsd, TFinNFe; 5 and 6 added by NT 2025.002-RTC)."""

    NORMAL = 1, "Normal"
    COMPLEMENTAR = 2, "Complementar"
    AJUSTE = 3, "Ajuste"
    DEVOLUCAO = 4, "Devolução/retorno"
    CREDITO = 5, "Nota de crédito"
    DEBITO = 6, "Nota de débito"


class EstadoManifestacao(models.TextChoices):
    """The recipient's manifestation that counts (NT 2020.001 v1.50: the last conclusive one)."""

    NENHUMA = "", "Nenhuma"
    CIENCIA = "ciencia", "Ciência da operação"
    CONFIRMACAO = "confirmacao", "Confirmação da operação"
    DESCONHECIMENTO = "desconhecimento", "Desconhecimento da operação"
    NAO_REALIZADA = "nao_realizada", "Operação não realizada"


class Origem(models.TextChoices):
    UPLOAD = "upload", "Upload"
    PASTA = "pasta", "Pasta"
    SEFAZ = "sefaz", "SEFAZ"


class TipoDocumento(models.TextChoices):
    NFE = "nfe", "NF-e"
    CTE = "cte", "CT-e"


@dataclass(frozen=True)
class OriginalComprimido:
    """The original bytes, compressed, with their SHA-256: computed once, before any transaction."""

    sha256: str
    tamanho: int
    conteudo: bytes

    @classmethod
    def de_bytes(cls, dados: bytes) -> "OriginalComprimido":
        return cls(hashlib.sha256(dados).hexdigest(), len(dados), zlib.compress(dados, 6))


class ArquivoXML(DaOrganizacao):
    """The bytes of one received file (an XML; for a corrupt ZIP, the ZIP itself), compressed, with their
    SHA-256. The file of a stored document is a legal record: never rewritten, kept as long as the document."""

    sha256 = models.CharField("SHA-256", max_length=64)
    tamanho = models.PositiveIntegerField()
    conteudo = models.BinaryField()
    criado_em = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "arquivo XML"
        verbose_name_plural = "arquivos XML"
        indexes = [models.Index(fields=["organizacao", "sha256"], name="arquivoxml_sha256_idx")]

    @classmethod
    def de_bytes(cls, organizacao, dados: bytes) -> "ArquivoXML":
        return cls.de_original(organizacao, OriginalComprimido.de_bytes(dados))

    @classmethod
    def de_original(cls, organizacao, original: "OriginalComprimido") -> "ArquivoXML":
        return cls(organizacao=organizacao, sha256=original.sha256, tamanho=original.tamanho, conteudo=original.conteudo)

    def bytes_originais(self) -> bytes:
        dados = zlib.decompress(bytes(self.conteudo))
        if hashlib.sha256(dados).hexdigest() != self.sha256:
            raise ValueError(f"XML armazenado {self.pk} não confere com seu SHA-256")
        return dados

    def __str__(self):
        return f"{self.sha256[:12]} ({self.tamanho} bytes)"


class DocumentoFiscal(DaOrganizacao):
    """Fields shared by NF-e and CT-e: identity, parties, protocol and where it came from."""

    chave = models.CharField("chave de acesso", max_length=44)
    modelo = models.CharField(max_length=2)
    serie = models.PositiveIntegerField("série")
    numero = models.PositiveIntegerField("número")
    data_emissao = models.DateTimeField("emissão")
    # The emission date in settings.TIME_ZONE, stored so per-day/per-month statistics group on a
    # plain column: SQLite would otherwise run a Python time-zone function on every row.
    data_emissao_local = models.DateField("data de emissão (local)", editable=False)
    natureza_operacao = models.CharField("natureza da operação", max_length=200, blank=True)
    ambiente = models.PositiveSmallIntegerField(default=1)

    emitente_documento = models.CharField("CNPJ/CPF do emitente", max_length=14)
    emitente_nome = models.CharField("emitente", max_length=200, blank=True)
    emitente_uf = models.CharField("UF do emitente", max_length=2, blank=True)
    emitente_ie = models.CharField("IE do emitente", max_length=20, blank=True)
    destinatario_documento = models.CharField("CNPJ/CPF do destinatário", max_length=20, blank=True)
    destinatario_nome = models.CharField("destinatário", max_length=200, blank=True)
    destinatario_uf = models.CharField("UF do destinatário", max_length=2, blank=True)

    situacao = models.CharField("situação", max_length=20, choices=Situacao.choices)
    completa = models.BooleanField(default=True)
    assinatura = models.CharField(max_length=20, choices=EstadoAssinatura.choices)
    origem = models.CharField(max_length=10, choices=Origem.choices)
    nsu = models.BigIntegerField("NSU", null=True, blank=True)

    protocolo = models.CharField(max_length=20, blank=True)
    data_recebimento = models.DateTimeField("recebimento na SEFAZ", null=True, blank=True)
    codigo_status = models.PositiveSmallIntegerField("código de status (cStat)", null=True, blank=True)
    digest_value = models.CharField("DigestValue", max_length=64, blank=True)

    # Never looked up by file; the index would only slow bulk inserts down.
    arquivo = models.ForeignKey(ArquivoXML, on_delete=models.PROTECT, related_name="+", db_index=False)
    criado_em = models.DateTimeField(auto_now_add=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self):
        # What the admin's title, breadcrumb and messages show: "NF-e 1000/1 · 3526 1211 ...".
        from core.formatacao import formatar_chave, nome_do_modelo  # formatacao imports the models

        return f"{nome_do_modelo(self.modelo)} {self.numero}/{self.serie} · {formatar_chave(self.chave)}"


# The API's order: the fields an exact search looks up end with it, so the search (core.consultas.busca)
# reads the newest `limite` matches off the index instead of sorting every match.
RECENTES = ["-data_emissao", "-id"]


def _indices(prefixo: str, *extras: str, buscados: tuple[str, ...] = ()) -> list:
    """Indexes for the API filters; every one starts with organizacao because every query does."""
    campos = [
        ("emissao", ["organizacao", *RECENTES]),
        ("emit", ["organizacao", "emitente_documento", *RECENTES]),
        ("dest", ["organizacao", "destinatario_documento", *RECENTES]),
        ("sit", ["organizacao", "situacao", "data_emissao"]),
        ("num", ["organizacao", "numero", *RECENTES]),
    ]
    campos += [(extra, ["organizacao", extra]) for extra in extras]
    campos += [(campo, ["organizacao", campo, *RECENTES]) for campo in buscados]
    return [models.Index(fields=f, name=f"{prefixo}_{nome}_idx") for nome, f in campos]


class GrupoIBSCBS(models.Model):
    """The IBSCBS group as an NF-e item (TTribNFe) and a CT-e (TTribCTe) share it, with its gIBSCBS alternative
    (DFeTiposBasicos_v1.00.xsd); core.documentos.leitura.reforma reads it."""

    cst_ibs_cbs = models.CharField("CST do IBS/CBS", max_length=3, blank=True)  # CST
    classificacao_tributaria = models.CharField("classificação tributária (cClassTrib)", max_length=6, blank=True)  # cClassTrib
    valor_bc_ibs_cbs = models.DecimalField("base de cálculo do IBS/CBS", **VALOR_REFORMA)  # gIBSCBS/vBC
    aliquota_ibs_uf = models.DecimalField("alíquota do IBS estadual", **ALIQUOTA_REFORMA)  # gIBSCBS/gIBSUF/pIBSUF
    valor_ibs_uf = models.DecimalField("IBS estadual", **VALOR_REFORMA)  # gIBSCBS/gIBSUF/vIBSUF
    aliquota_ibs_mun = models.DecimalField("alíquota do IBS municipal", **ALIQUOTA_REFORMA)  # gIBSCBS/gIBSMun/pIBSMun
    valor_ibs_mun = models.DecimalField("IBS municipal", **VALOR_REFORMA)  # gIBSCBS/gIBSMun/vIBSMun
    valor_ibs = models.DecimalField("IBS", **VALOR_REFORMA)  # gIBSCBS/vIBS
    aliquota_cbs = models.DecimalField("alíquota da CBS", **ALIQUOTA_REFORMA)  # gIBSCBS/gCBS/pCBS
    valor_cbs = models.DecimalField("CBS", **VALOR_REFORMA)  # gIBSCBS/gCBS/vCBS

    class Meta:
        abstract = True


class NFe(DocumentoFiscal):
    """NF-e (modelo 55) or NFC-e (modelo 65), full or only its resNFe summary."""

    class TipoOperacao(models.TextChoices):
        ENTRADA = "entrada", "Entrada"
        SAIDA = "saida", "Saída"

    tipo_operacao = models.CharField("tipo de operação", max_length=7, choices=TipoOperacao.choices)
    # ide/finNFe; NULL for a summary (resNFe does not carry it) and for rows not re-read yet.
    finalidade = models.PositiveSmallIntegerField(choices=Finalidade.choices, null=True, blank=True)
    data_saida_entrada = models.DateTimeField("saída/entrada", null=True, blank=True)
    destinatario_tipo_documento = models.CharField("tipo de documento do destinatário", max_length=12, blank=True)
    # The document's total: total/vNFTot when the NF-e has it (the reform's "valor total da NF considerando
    # os impostos por fora", the sum of det/vItem), else ICMSTot/vNF. Both kept below.
    valor_total = models.DecimalField(**DINHEIRO)
    valor_nf = models.DecimalField("valor da NF (vNF)", **DINHEIRO)  # ICMSTot/vNF, always
    valor_nf_tot = models.DecimalField("valor total da NF (vNFTot)", **VALOR_REFORMA)  # total/vNFTot
    valor_produtos = models.DecimalField("valor dos produtos", **DINHEIRO)
    valor_icms = models.DecimalField("ICMS", **DINHEIRO)
    valor_ipi = models.DecimalField("IPI", **DINHEIRO)
    valor_frete = models.DecimalField("frete", **DINHEIRO)
    valor_desconto = models.DecimalField("desconto", **DINHEIRO)
    # total/IBSCBSTot (TIBSCBSMonoTot) and total/ISTot.
    valor_bc_ibs_cbs = models.DecimalField("base de cálculo do IBS/CBS", **VALOR_REFORMA)  # vBCIBSCBS
    valor_ibs = models.DecimalField("IBS", **VALOR_REFORMA)  # gIBS/vIBS
    valor_ibs_uf = models.DecimalField("IBS estadual", **VALOR_REFORMA)  # gIBS/gIBSUF/vIBSUF
    valor_ibs_mun = models.DecimalField("IBS municipal", **VALOR_REFORMA)  # gIBS/gIBSMun/vIBSMun
    valor_cbs = models.DecimalField("CBS", **VALOR_REFORMA)  # gCBS/vCBS
    valor_credito_presumido_ibs = models.DecimalField("crédito presumido do IBS", **VALOR_REFORMA)  # gIBS/vCredPres
    valor_credito_presumido_cbs = models.DecimalField("crédito presumido da CBS", **VALOR_REFORMA)  # gCBS/vCredPres
    valor_is = models.DecimalField("Imposto Seletivo", **VALOR_REFORMA)  # ISTot/vIS
    # Every field of IBSCBSTot and ISTot as the XML has it (strings, never float), keyed by schema name.
    tributos_reforma = models.JSONField("tributos da reforma (como no XML)", default=dict, blank=True)
    # Manifestação do destinatário: the state that counts, kept from the linked events
    # (core.documentos.manifestacao_estado), and the deadline of the conclusive one.
    manifestacao = models.CharField("manifestação", max_length=16, choices=EstadoManifestacao.choices, blank=True, default="")
    manifestacao_em = models.DateTimeField("manifestação em", null=True, blank=True)
    manifestacao_protocolo = models.CharField("protocolo da manifestação", max_length=20, blank=True)
    prazo_manifestacao = models.DateTimeField("prazo da manifestação", null=True, blank=True)
    prazo_manifestacao_avisado_em = models.DateTimeField("prazo avisado em", null=True, blank=True)

    class Meta:
        verbose_name = "NF-e"
        verbose_name_plural = "NF-e"
        constraints = [models.UniqueConstraint(fields=["organizacao", "chave"], name="nfe_chave_unica")]
        indexes = _indices("nfe", "valor_total", "emitente_uf", "finalidade") + [
            models.Index(fields=["organizacao", "prazo_manifestacao"], name="nfe_prazo_manif_idx"),
            # The dashboard's latest summaries waiting for their full XML: only those rows, newest first, so
            # the ten latest are read directly however rare they are among a million documents.
            models.Index(fields=["organizacao", "-data_emissao", "-id"], condition=models.Q(completa=False),
                         name="nfe_incompletas_idx"),
        ]


class NFeItem(GrupoIBSCBS, DaOrganizacao):
    # The unique (nfe, numero) index already serves lookups by nfe.
    nfe = models.ForeignKey(NFe, on_delete=models.CASCADE, related_name="itens", db_index=False)
    numero = models.PositiveSmallIntegerField("número")
    codigo = models.CharField("código", max_length=60)
    descricao = models.CharField("descrição", max_length=255)
    ncm = models.CharField("NCM", max_length=8, blank=True)
    cfop = models.CharField("CFOP", max_length=4, blank=True)
    unidade = models.CharField(max_length=10, blank=True)
    ean = models.CharField("EAN", max_length=14, blank=True)
    quantidade = models.DecimalField(max_digits=19, decimal_places=4, default=0)
    valor_unitario = models.DecimalField("valor unitário", max_digits=21, decimal_places=10, default=0)
    valor_total = models.DecimalField(**DINHEIRO)
    valor_desconto = models.DecimalField("desconto", **DINHEIRO)
    valor_icms = models.DecimalField("ICMS", **DINHEIRO)
    valor_ipi = models.DecimalField("IPI", **DINHEIRO)
    valor_item = models.DecimalField("valor do item (vItem)", **VALOR_REFORMA)  # det/vItem
    # det/imposto/IBSCBS (TTribNFe): the GrupoIBSCBS fields
    # det/imposto/IS (TIS)
    cst_is = models.CharField("CST do IS", max_length=3, blank=True)  # CSTIS
    classificacao_tributaria_is = models.CharField("classificação tributária do IS", max_length=6, blank=True)  # cClassTribIS
    valor_bc_is = models.DecimalField("base de cálculo do IS", **VALOR_REFORMA)  # vBCIS
    aliquota_is = models.DecimalField("alíquota do IS", **ALIQUOTA_REFORMA)  # pIS
    valor_is = models.DecimalField("Imposto Seletivo", **VALOR_REFORMA)  # vIS
    # Every field of IBSCBS and IS as the XML has it (deferral, reduction, presumed credit...), keyed by schema name.
    tributos_reforma = models.JSONField("tributos da reforma (como no XML)", default=dict, blank=True)

    class Meta:
        verbose_name = "item de NF-e"
        verbose_name_plural = "itens de NF-e"
        ordering = ["nfe", "numero"]
        constraints = [models.UniqueConstraint(fields=["nfe", "numero"], name="nfeitem_numero_unico")]

    def __str__(self):
        return f"{self.numero}: {self.descricao}"


class CTe(GrupoIBSCBS, DocumentoFiscal):
    """CT-e (modelo 57) or CT-e OS (modelo 67)."""

    cfop = models.CharField("CFOP", max_length=4, blank=True)
    tipo_cte = models.CharField("tipo de CT-e", max_length=1, blank=True)
    modal = models.CharField(max_length=2, blank=True)
    tipo_servico = models.CharField("tipo de serviço", max_length=1, blank=True)
    remetente_documento = models.CharField("CNPJ/CPF do remetente", max_length=14, blank=True)
    remetente_nome = models.CharField("remetente", max_length=200, blank=True)
    remetente_uf = models.CharField("UF do remetente", max_length=2, blank=True)
    expedidor_documento = models.CharField("CNPJ/CPF do expedidor", max_length=14, blank=True)
    expedidor_nome = models.CharField("expedidor", max_length=200, blank=True)
    expedidor_uf = models.CharField("UF do expedidor", max_length=2, blank=True)
    recebedor_documento = models.CharField("CNPJ/CPF do recebedor", max_length=14, blank=True)
    recebedor_nome = models.CharField("recebedor", max_length=200, blank=True)
    recebedor_uf = models.CharField("UF do recebedor", max_length=2, blank=True)
    tomador_papel = models.CharField("tomador do serviço", max_length=1, blank=True)
    tomador_documento = models.CharField("CNPJ/CPF do tomador", max_length=14, blank=True)
    tomador_nome = models.CharField("tomador", max_length=200, blank=True)
    tomador_uf = models.CharField("UF do tomador", max_length=2, blank=True)
    codigo_municipio_inicio = models.CharField("código do município de início", max_length=7, blank=True)
    municipio_inicio = models.CharField("município de início", max_length=60, blank=True)
    uf_inicio = models.CharField("UF de início", max_length=2, blank=True)
    codigo_municipio_fim = models.CharField("código do município de término", max_length=7, blank=True)
    municipio_fim = models.CharField("município de término", max_length=60, blank=True)
    uf_fim = models.CharField("UF de término", max_length=2, blank=True)
    valor_prestacao = models.DecimalField("valor da prestação", **DINHEIRO)
    valor_receber = models.DecimalField("valor a receber", **DINHEIRO)
    valor_carga = models.DecimalField("valor da carga", **DINHEIRO)
    valor_icms = models.DecimalField("ICMS", **DINHEIRO)
    chaves_nfe = models.JSONField("chaves das NF-e", default=list, blank=True)
    # imp/IBSCBS (TTribCTe, NT 2025.001-RTC): the GrupoIBSCBS fields; and imp/vTotDFe.
    valor_total_dfe = models.DecimalField("total do DF-e (vTotDFe)", **VALOR_REFORMA)  # imp/vTotDFe
    tributos_reforma = models.JSONField("tributos da reforma (como no XML)", default=dict, blank=True)

    class Meta:
        verbose_name = "CT-e"
        verbose_name_plural = "CT-e"
        constraints = [models.UniqueConstraint(fields=["organizacao", "chave"], name="cte_chave_unica")]
        indexes = _indices("cte", "valor_prestacao", "modal", buscados=("tomador_documento",)) + [
            models.Index(fields=["organizacao", "uf_inicio", "uf_fim"], name="cte_rota_idx"),
        ]


class OutroDocumento(DocumentoFiscal):
    """A DF-e kind the distribution services deliver that the project does not model in full yet.

    GTV-e (modelo 64, `GTVeProc`) and CT-e Simplificado (modelo 57, `cteSimpProc`) come through
    CTeDistribuicaoDFe (PL_CTe_400). They are verified like a CT-e (key, signature, signer) and stored with
    what every DF-e has, plus the original XML, so nothing received is invisible; a later release can
    read them in full by reprocessing the kept file.
    """

    class Tipo(models.TextChoices):
        GTVE = "gtve", "GTV-e (Guia de Transporte de Valores)"
        CTE_SIMPLIFICADO = "cte_simplificado", "CT-e Simplificado"
        OUTRO = "outro", "Outro DF-e (tipo ainda não lido por completo)"

    tipo = models.CharField(max_length=20, choices=Tipo.choices)
    tipo_xml = models.CharField("tipo de XML", max_length=20, help_text="Elemento raiz: GTVeProc, cteSimpProc...")
    # GTV-e: the value carried (sum of detGTV/infEspecie/vEspecie); CT-e Simplificado: total/vTPrest.
    valor_total = models.DecimalField(max_digits=15, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = "outro documento fiscal"
        verbose_name_plural = "outros documentos fiscais"
        constraints = [models.UniqueConstraint(fields=["organizacao", "chave"], name="outrodocumento_chave_unica")]
        indexes = [models.Index(fields=["organizacao", "-data_emissao", "-id"], name="outrodoc_emissao_idx")]


class EventoDocumento(DaOrganizacao):
    """An event of an NF-e or CT-e. It may arrive before its document; it is linked when that comes."""

    Categoria = Categoria  # core.documentos.tipos_evento: one per group of the event catalogue

    chave = models.CharField("chave de acesso", max_length=44, help_text="Chave do documento a que o evento se refere")
    tipo_documento = models.CharField("tipo de documento", max_length=3, choices=TipoDocumento.choices)
    nfe = models.ForeignKey(NFe, null=True, blank=True, on_delete=models.SET_NULL, related_name="eventos")
    cte = models.ForeignKey(CTe, null=True, blank=True, on_delete=models.SET_NULL, related_name="eventos")
    # GTV-e / CT-e Simplificado: their events come in the CT-e event layout.
    outro = models.ForeignKey("OutroDocumento", null=True, blank=True, on_delete=models.SET_NULL, related_name="eventos")
    tipo_evento = models.CharField("tipo de evento", max_length=6)
    categoria = models.CharField(max_length=20, choices=Categoria.choices)
    descricao = models.CharField("descrição", max_length=120, blank=True)
    sequencia = models.PositiveSmallIntegerField("sequência", default=1)
    data_evento = models.DateTimeField("data do evento")
    autor_documento = models.CharField("CNPJ/CPF do autor", max_length=14, blank=True)
    orgao = models.CharField("órgão", max_length=2, blank=True)
    ambiente = models.PositiveSmallIntegerField(null=True, blank=True)
    protocolo = models.CharField(max_length=20, blank=True)
    data_registro = models.DateTimeField("registro na SEFAZ", null=True, blank=True)
    codigo_status = models.PositiveSmallIntegerField("código de status (cStat)", null=True, blank=True)
    completo = models.BooleanField(default=True)
    assinatura = models.CharField(max_length=20, choices=EstadoAssinatura.choices)
    digest_value = models.CharField("DigestValue", max_length=64, blank=True)  # of the signed infEvento: same event or a conflict
    origem = models.CharField(max_length=10, choices=Origem.choices)
    nsu = models.BigIntegerField("NSU", null=True, blank=True)
    detalhes = models.JSONField(default=dict, blank=True)
    # Set by an event that cancels this one (110001 and the other "cancelamento de evento" types): the event
    # stays stored, flagged, with the link to the one that cancelled it.
    cancelado_por = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="eventos_cancelados")
    arquivo = models.ForeignKey(ArquivoXML, on_delete=models.PROTECT, related_name="+", db_index=False)
    criado_em = models.DateTimeField(auto_now_add=True)
    atualizado_em = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "evento de documento"
        verbose_name_plural = "eventos de documentos"
        ordering = ["data_evento"]
        constraints = [models.UniqueConstraint(fields=["organizacao", "chave", "tipo_evento", "sequencia"], name="evento_unico")]

    def __str__(self):
        return f"{self.tipo_evento} seq {self.sequencia} de {self.chave}"

    @property
    def nome(self) -> str:
        return nome_do_evento(self.tipo_documento, self.tipo_evento)

    @property
    def significado(self) -> str:
        tipo = tipo_de_evento(self.tipo_documento, self.tipo_evento)
        return tipo.significado if tipo else ""

    @property
    def cancelado(self) -> bool:
        return self.cancelado_por_id is not None

    @property
    def vale(self) -> bool:
        """Registered by SEFAZ and believable: only such an event changes a document or another event."""
        # A resEvento carries no cStat (stored as 0 or None): SEFAZ only distributes registered events.
        registrado = not self.codigo_status or self.codigo_status in CSTAT_EVENTO_REGISTRADO | CSTAT_CANCELADO
        # An unsigned summary is believed only when SEFAZ's distribution delivered it (mutual TLS).
        confiavel = self.assinatura != EstadoAssinatura.AUSENTE or self.origem == Origem.SEFAZ
        return registrado and confiavel

    @property
    def cancela_documento(self) -> bool:
        return self.categoria == self.Categoria.CANCELAMENTO and self.vale

    def evento_que_cancela(self) -> tuple[str, str] | None:
        """(tpEvento, protocol) of the event this one cancels (110001...), when it is one that counts."""
        tipo = tipo_de_evento(self.tipo_documento, self.tipo_evento)
        return tipo.alvo(self.detalhes or {}) if tipo and self.vale else None
