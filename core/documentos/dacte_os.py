"""DACTE OS: the printed companion of a CT-e OS (modelo 67), drawn with fpdf2.

brazilfiscalreport (1.3.1) draws only the DACTE of the CT-e modelo 57: its Dacte reads toma3/toma4,
rem, dest, infCarga and infDoc, none of which a CT-e OS has (TCTeOS in cteTiposBasico_v4.00.xsd: one
`toma`, `infServico`, `infDocRef`, `rodoOS`). So the DACTE OS is drawn here, with the PDF library
brazilfiscalreport itself uses, in the blocks of the DACTE OS model of the CT-e Manual de Orientação
do Contribuinte: emitter and document identification, access key with its Code 128 barcode and the
QR Code, authorization protocol, route, tomador, service, price components, taxes (ICMS, the federal
ones and, when the CT-e OS has `imp/IBSCBS`, IBS and CBS), referenced documents, modal data and
observations.

The XML arrives already reduced to Latin-1 (pdf.sanitizar). A field the XML lacks prints blank, never
0,00: the DACTE OS shows what the document says.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import qrcode
from barcode.codex import Code128
from fpdf import FPDF
from lxml import etree

from core.formatacao import formatar_chave, formatar_documento, formatar_valor

NS = "{http://www.portalfiscal.inf.br/cte}"

MARGEM = 7
LARGURA = 210 - 2 * MARGEM
FUNDO = 297 - MARGEM
FONTE = "Helvetica"
ROTULO_PT = 5.5
VALOR_PT = 7.5

MODAIS = {"01": "RODOVIÁRIO", "02": "AÉREO", "03": "AQUAVIÁRIO", "04": "FERROVIÁRIO"}
TIPOS_CTE = {"0": "NORMAL", "1": "COMPLEMENTO DE VALORES", "3": "SUBSTITUTO"}
TIPOS_SERVICO = {"6": "TRANSPORTE DE PESSOAS", "7": "TRANSPORTE DE VALORES", "8": "EXCESSO DE BAGAGEM"}
SITUACOES_ICMS = {
    "00": "00 - TRIBUTAÇÃO NORMAL", "20": "20 - COM REDUÇÃO DE BC", "40": "40 - ISENTA",
    "41": "41 - NÃO TRIBUTADA", "51": "51 - DIFERIDA", "90": "90 - OUTROS",
}  # fmt: skip
RESPONSAVEIS_SEGURO = {"4": "EMITENTE", "5": "TOMADOR"}
FRETAMENTOS = {"1": "EVENTUAL", "2": "CONTÍNUO"}
CONSULTA = (
    "Consulta de autenticidade no portal nacional do CT-e (www.cte.fazenda.gov.br/portal) ou na SEFAZ autorizadora"
)


def desenhar_dacte_os(raiz: etree._Element, *, cancelada: bool = False) -> bytes:
    """The DACTE OS of a `cteOSProc` or a bare `CTeOS` (raiz), as PDF bytes."""
    cte = raiz.find(f".//{NS}infCte")
    if cte is None:
        raise ValueError("XML sem infCte")
    folha = Folha(_marca_dagua(raiz, cancelada), cabecalho_continuacao=_continuacao(cte))
    for bloco in (_identificacao, _prestacao, _tomador, _servico, _componentes, _icms, _ibs_cbs,
                  _documentos, _modal, _observacoes, _reservado):  # fmt: skip
        bloco(folha, raiz, cte)
    return bytes(folha.output())


# ------------------------------------------------------------------------------------------- page


class Folha(FPDF):
    """A4 pages drawn top to bottom: `y_livre` is where the next block starts."""

    def __init__(self, marca: str, cabecalho_continuacao: str):
        super().__init__(unit="mm", format="A4")
        self.set_margins(MARGEM, MARGEM, MARGEM)
        self.set_auto_page_break(False)
        self.set_title("DACTE OS")
        self.set_line_width(0.2)
        self.marca, self.continuacao = marca, cabecalho_continuacao
        self.add_page()

    def add_page(self, *args, **kwargs):
        super().add_page(*args, **kwargs)
        self._desenhar_marca()
        self.y_livre = MARGEM
        if self.page_no() > 1:  # a continuation page says whose it is
            self.set_font(FONTE, "B", 6)
            self.set_xy(MARGEM, MARGEM)
            self.cell(LARGURA, 4, f"{self.continuacao}   FL {self.page_no()}/{{nb}}")
            self.y_livre += 5

    def reservar(self, altura: float) -> float:
        """The y where a block of `altura` mm fits, on a new page when this one is full."""
        if self.y_livre + altura > FUNDO:
            self.add_page()
        return self.y_livre

    def titulo(self, texto: str) -> None:
        y = self.reservar(4.5 + 8)  # a title is never left alone at the bottom
        self.set_fill_color(225, 225, 225)
        self.rect(MARGEM, y, LARGURA, 4, style="DF")
        self.set_font(FONTE, "B", 6.5)
        self.set_xy(MARGEM, y)
        self.cell(LARGURA, 4, texto, align="C")
        self.y_livre = y + 4

    def linha(self, campos: list[tuple], altura: float = 7.5, **estilo) -> None:
        """Labelled cells side by side across the page: (label, value, width as a proportion of the row,
        optionally the value's alignment, else the row's)."""
        y = self.reservar(altura)
        soma = sum(campo[2] for campo in campos)
        x = MARGEM
        for rotulo, valor, peso, *alinhar in campos:
            largura = LARGURA * peso / soma
            proprio = {**estilo, "alinhar": alinhar[0]} if alinhar else estilo
            self.campo(x, y, largura, altura, rotulo, valor, **proprio)
            x += largura
        self.y_livre = y + altura

    def campo(self, x, y, largura, altura, rotulo, valor, *, negrito=False, alinhar="L", tamanho=VALOR_PT):
        self.rect(x, y, largura, altura)
        self.set_font(FONTE, "", ROTULO_PT)
        self.set_xy(x, y + 0.3)
        self.cell(largura, 2.4, self.caber(rotulo, largura), align="L")
        self.set_font(FONTE, "B" if negrito else "", tamanho)
        self.set_xy(x, y + altura - 4.2)
        self.cell(largura, 3.8, self.caber(valor, largura), align=alinhar)

    def texto_livre(self, texto: str, altura_minima: float = 8, tamanho: float = 6.5) -> None:
        """A full-width box of wrapped text, split over pages when it is long."""
        self.set_font(FONTE, "", tamanho)
        linhas = self.multi_cell(LARGURA, 3, texto, dry_run=True, output="LINES") if texto else []
        while True:
            y = self.reservar(altura_minima)
            cabem = int((FUNDO - y - 1.5) // 3)
            pedaco, linhas = linhas[:cabem], linhas[cabem:]
            altura = max(altura_minima, len(pedaco) * 3 + 1.5)
            self.rect(MARGEM, y, LARGURA, altura)
            self.set_xy(MARGEM, y + 0.7)
            self.set_font(FONTE, "", tamanho)
            self.multi_cell(LARGURA, 3, "\n".join(pedaco), align="L")
            self.y_livre = y + altura
            if not linhas:
                return
            self.add_page()

    def caber(self, texto: str, largura: float) -> str:
        """`texto` cut with '...' to fit `largura` mm in the current font."""
        util = largura - 2 * self.c_margin
        if self.get_string_width(texto) <= util:
            return texto
        while texto and self.get_string_width(texto + "...") > util:
            texto = texto[:-1]
        return texto + "..."

    def _desenhar_marca(self) -> None:
        if not self.marca:
            return
        tamanho = 60 if len(self.marca) < 12 else 40
        self.set_font(FONTE, "B", tamanho)
        self.set_text_color(230, 170, 170)
        largura = self.get_string_width(self.marca)
        with self.rotation(55, 105, 148.5):
            self.text(105 - largura / 2, 148.5 + tamanho * 0.125, self.marca)
        self.set_text_color(0, 0, 0)


def _marca_dagua(raiz, cancelada: bool) -> str:
    # As brazilfiscalreport marks its DACTE: a homologation document or one without the
    # authorization protocol has no fiscal value.
    producao = _texto(raiz.find(f".//{NS}ide"), "tpAmb") == "1"
    if cancelada:
        return "CANCELADA" if producao else "CANCELADA - SEM VALOR FISCAL"
    if not producao or raiz.find(f".//{NS}protCTe") is None:
        return "SEM VALOR FISCAL"
    return ""


def _continuacao(cte) -> str:
    ide = cte.find(f"{NS}ide")
    return f"DACTE OS  Nº {_texto(ide, 'nCT')}  SÉRIE {_texto(ide, 'serie')}  CHAVE {_chave(cte)}"


# ----------------------------------------------------------------------------------------- blocks


def _identificacao(folha: Folha, raiz, cte) -> None:
    """Emitter | title, modal, number and date, barcode and key | QR Code; then type and protocol."""
    ide, y = cte.find(f"{NS}ide"), folha.y_livre
    _emitente(folha, cte.find(f"{NS}emit"), MARGEM, y, 86, 45)
    x = MARGEM + 86
    folha.rect(x, y, 80, 12)
    folha.set_font(FONTE, "B", 11)
    folha.set_xy(x, y + 1)
    folha.cell(80, 5, "DACTE OS", align="C")
    folha.set_font(FONTE, "", 6)
    folha.set_xy(x + 2, y + 6)
    folha.multi_cell(76, 2.6, "Documento Auxiliar do Conhecimento de Transporte Eletrônico para Outros Serviços",
                     align="C")  # fmt: skip
    folha.campo(x + 80, y, 30, 12, "MODAL", MODAIS.get(_texto(ide, "modal"), _texto(ide, "modal")),
                negrito=True, alinhar="C")  # fmt: skip
    numeracao = [("MODELO", _texto(ide, "mod"), 11), ("SÉRIE", _texto(ide, "serie"), 10),
                 ("NÚMERO", _texto(ide, "nCT"), 18), ("FL", f"{folha.page_no()}/{{nb}}", 10),
                 ("DATA E HORA DE EMISSÃO", _data_hora(_texto(ide, "dhEmi")), 31)]  # fmt: skip
    for rotulo, valor, largura in numeracao:
        folha.campo(x, y + 12, largura, 8, rotulo, valor, alinhar="C")
        x += largura
    _codigo_de_barras(folha, _chave(cte), MARGEM + 86, y + 20, 80, 14)
    folha.campo(MARGEM + 86, y + 34, 80, 11, "CHAVE DE ACESSO", formatar_chave(_chave(cte)), negrito=True,
                alinhar="C", tamanho=7)  # fmt: skip
    _qr_code(folha, _texto(raiz.find(f".//{NS}infCTeSupl"), "qrCodCTe"), MARGEM + 166, y + 12, 30, 33)
    folha.y_livre = y + 45
    folha.linha([
        ("TIPO DO CT-E", TIPOS_CTE.get(_texto(ide, "tpCTe"), _texto(ide, "tpCTe")), 22),
        ("TIPO DO SERVIÇO", TIPOS_SERVICO.get(_texto(ide, "tpServ"), _texto(ide, "tpServ")), 28),
        ("PROTOCOLO DE AUTORIZAÇÃO DE USO", _protocolo(raiz), 50),
    ], negrito=True)  # fmt: skip
    folha.set_font(FONTE, "", 5.5)
    folha.set_xy(MARGEM, folha.y_livre)
    folha.cell(LARGURA, 3, CONSULTA, align="C")
    folha.y_livre += 3.5


def _emitente(folha: Folha, emit, x, y, largura, altura) -> None:
    folha.rect(x, y, largura, altura)
    ender = emit.find(f"{NS}enderEmit") if emit is not None else None
    folha.set_font(FONTE, "B", 9)
    nome = folha.multi_cell(largura - 4, 4, _texto(emit, "xNome"), dry_run=True, output="LINES")[:3]
    linhas = [
        f"{_texto(ender, 'xLgr')}, {_texto(ender, 'nro')} {_texto(ender, 'xCpl')}".strip(),
        f"{_texto(ender, 'xBairro')} - {_municipio_uf(ender)} - CEP {_cep(_texto(ender, 'CEP'))}",
        f"CNPJ/CPF: {_documento(emit)}    IE: {_texto(emit, 'IE')}",
        f"FONE: {_fone(_texto(ender, 'fone'))}" if _texto(ender, "fone") else "",
    ]
    linhas = [linha for linha in linhas if linha]
    topo = y + (altura - len(nome) * 4.5 - 2 - len(linhas) * 3.8) / 2
    for i, parte in enumerate(nome):
        folha.set_font(FONTE, "B", 9)
        folha.set_xy(x + 2, topo + i * 4.5)
        folha.cell(largura - 4, 4.5, parte, align="C")
    folha.set_font(FONTE, "", 7)
    for i, linha in enumerate(linhas):
        folha.set_xy(x + 1, topo + len(nome) * 4.5 + 2 + i * 3.8)
        folha.cell(largura - 2, 3.8, folha.caber(linha, largura - 2), align="C")


def _prestacao(folha: Folha, raiz, cte) -> None:
    ide = cte.find(f"{NS}ide")
    folha.linha([
        ("CFOP - NATUREZA DA PRESTAÇÃO", f"{_texto(ide, 'CFOP')} - {_texto(ide, 'natOp')}", 50),
        ("INÍCIO DA PRESTAÇÃO", _municipio(ide, "Ini"), 25),
        ("TÉRMINO DA PRESTAÇÃO", _municipio(ide, "Fim"), 25),
    ])  # fmt: skip
    percurso = [uf.text or "" for uf in ide.iterfind(f"{NS}infPercurso/{NS}UFPer")]
    if percurso:
        folha.linha([("PERCURSO (UF)", " - ".join(percurso), 1)])


def _tomador(folha: Folha, raiz, cte) -> None:
    toma = cte.find(f"{NS}toma")
    ender = toma.find(f"{NS}enderToma") if toma is not None else None
    folha.titulo("TOMADOR DO SERVIÇO")
    logradouro = f"{_texto(ender, 'xLgr')}, {_texto(ender, 'nro')} {_texto(ender, 'xCpl')}".strip(" ,")
    folha.linha([("NOME / RAZÃO SOCIAL", _texto(toma, "xNome"), 62), ("CNPJ/CPF", _documento(toma), 20),
                 ("INSCRIÇÃO ESTADUAL", _texto(toma, "IE"), 18)], negrito=True)  # fmt: skip
    folha.linha([("ENDEREÇO", logradouro, 44), ("BAIRRO", _texto(ender, "xBairro"), 18),
                 ("MUNICÍPIO", _texto(ender, "xMun"), 20), ("UF", _texto(ender, "UF"), 6),
                 ("CEP", _cep(_texto(ender, "CEP")), 12)])  # fmt: skip
    folha.linha([("PAÍS", _texto(ender, "xPais"), 20), ("FONE", _fone(_texto(toma, "fone")), 20),
                 ("E-MAIL", _texto(toma, "email"), 60)])  # fmt: skip


def _servico(folha: Folha, raiz, cte) -> None:
    servico = cte.find(f"{NS}infCTeNorm/{NS}infServico")
    folha.titulo("INFORMAÇÕES DA PRESTAÇÃO DO SERVIÇO")
    folha.linha([("QUANTIDADE", _quantidade(_texto(servico, "infQ/qCarga")), 16),
                 ("DESCRIÇÃO DO SERVIÇO PRESTADO", _texto(servico, "xDescServ"), 84)])  # fmt: skip


def _componentes(folha: Folha, raiz, cte) -> None:
    """Name/value pairs in three columns on the left, the totals stacked on the right."""
    prestacao = cte.find(f"{NS}vPrest")
    pares = [(_texto(c, "xNome"), _dinheiro(_texto(c, "vComp"))) for c in prestacao.iterfind(f"{NS}Comp")]
    totais = [("VALOR TOTAL DO SERVIÇO", _texto(prestacao, "vTPrest")), ("VALOR A RECEBER", _texto(prestacao, "vRec"))]
    if _texto(prestacao, "vTPrestLiq"):
        totais.insert(1, ("VALOR TOTAL LÍQUIDO", _texto(prestacao, "vTPrestLiq")))
    folha.titulo("COMPONENTES DO VALOR DA PRESTAÇÃO DO SERVIÇO")
    linhas = max(1, -(-len(pares) // 3))
    altura = max(linhas * 3.6 + 5, len(totais) * 7)
    y = folha.reservar(altura)
    coluna = (LARGURA - 46) / 3
    for i in range(3):
        x = MARGEM + i * coluna
        folha.campo(x, y, coluna, altura, "NOME", "")
        folha.set_font(FONTE, "", ROTULO_PT)
        folha.set_xy(x, y + 0.3)
        folha.cell(coluna, 2.4, "VALOR", align="R")
        for j, (nome, valor) in enumerate(pares[i::3]):
            folha.set_font(FONTE, "", 6.5)
            folha.set_xy(x, y + 3 + j * 3.6)
            folha.cell(coluna * 0.62, 3.6, folha.caber(nome, coluna * 0.62))
            folha.cell(coluna * 0.38, 3.6, valor, align="R")
    altura_total = altura / len(totais)
    for k, (rotulo, valor) in enumerate(totais):
        folha.campo(MARGEM + 3 * coluna, y + k * altura_total, 46, altura_total, rotulo, _dinheiro(valor),
                    negrito=True, alinhar="R")  # fmt: skip
    folha.y_livre = y + altura


def _icms(folha: Folha, raiz, cte) -> None:
    imp = cte.find(f"{NS}imp")
    icms = imp.find(f"{NS}ICMS") if imp is not None else None
    grupo = next(iter(icms), None) if icms is not None else None  # ICMS00, ICMS20 ... ICMSSN: one of them
    folha.titulo("INFORMAÇÕES RELATIVAS AO IMPOSTO")
    folha.linha([
        ("SITUAÇÃO TRIBUTÁRIA", _situacao_icms(grupo), 34, "L"),
        ("BASE DE CÁLCULO", _dinheiro(_primeiro(grupo, "vBC", "vBCOutraUF")), 16),
        ("ALÍQ. ICMS (%)", _percentual(_primeiro(grupo, "pICMS", "pICMSOutraUF")), 11),
        ("VALOR DO ICMS", _dinheiro(_primeiro(grupo, "vICMS", "vICMSOutraUF")), 16),
        ("% RED. BC", _percentual(_primeiro(grupo, "pRedBC", "pRedBCOutraUF")), 9),
        ("VALOR APROX. TRIBUTOS", _dinheiro(_texto(imp, "vTotTrib")), 18),
    ], alinhar="R")  # fmt: skip
    federais = imp.find(f"{NS}infTribFed") if imp is not None else None
    if federais is not None:
        folha.linha([(f"VALOR {nome}", _dinheiro(_texto(federais, f"v{nome}")), 1)
                     for nome in ("PIS", "COFINS", "IR", "INSS", "CSLL")], alinhar="R")  # fmt: skip
    partilha = imp.find(f"{NS}ICMSUFFim") if imp is not None else None
    if partilha is not None:
        folha.linha([
            ("BC UF FIM", _dinheiro(_texto(partilha, "vBCUFFim")), 1),
            ("% FCP UF FIM", _percentual(_texto(partilha, "pFCPUFFim")), 1),
            ("% ICMS UF FIM", _percentual(_texto(partilha, "pICMSUFFim")), 1),
            ("% ICMS INTER", _percentual(_texto(partilha, "pICMSInter")), 1),
            ("VALOR FCP UF FIM", _dinheiro(_texto(partilha, "vFCPUFFim")), 1),
            ("ICMS UF FIM", _dinheiro(_texto(partilha, "vICMSUFFim")), 1),
            ("ICMS UF INÍCIO", _dinheiro(_texto(partilha, "vICMSUFIni")), 1),
        ], alinhar="R")  # fmt: skip


def _ibs_cbs(folha: Folha, raiz, cte) -> None:
    """imp/IBSCBS (TTribCTe) and imp/vTotDFe, only when the CT-e OS has them (NT 2025.001-RTC)."""
    imp = cte.find(f"{NS}imp")
    ibscbs = imp.find(f"{NS}IBSCBS") if imp is not None else None
    total_dfe = _texto(imp, "vTotDFe")
    if ibscbs is None and not total_dfe:
        return
    g = ibscbs.find(f"{NS}gIBSCBS") if ibscbs is not None else None
    folha.titulo("IBS E CBS (REFORMA TRIBUTÁRIA)")
    folha.linha([
        ("CST", _texto(ibscbs, "CST"), 8, "L"), ("CLASSIFICAÇÃO TRIBUTÁRIA", _texto(ibscbs, "cClassTrib"), 18, "L"),
        ("BASE DE CÁLCULO", _dinheiro(_texto(g, "vBC")), 16),
        ("ALÍQ. IBS UF (%)", _percentual(_aliquota(g, "gIBSUF", "pIBSUF")), 12),
        ("VALOR IBS UF", _dinheiro(_texto(g, "gIBSUF/vIBSUF")), 15),
        ("ALÍQ. IBS MUN. (%)", _percentual(_aliquota(g, "gIBSMun", "pIBSMun")), 13),
        ("VALOR IBS MUN.", _dinheiro(_texto(g, "gIBSMun/vIBSMun")), 15),
    ], alinhar="R")  # fmt: skip
    folha.linha([
        ("VALOR TOTAL DO IBS", _dinheiro(_texto(g, "vIBS")), 25),
        ("ALÍQ. CBS (%)", _percentual(_aliquota(g, "gCBS", "pCBS")), 25),
        ("VALOR DA CBS", _dinheiro(_texto(g, "gCBS/vCBS")), 25),
        ("VALOR TOTAL DO DOCUMENTO", _dinheiro(total_dfe), 25),
    ], alinhar="R", negrito=True)  # fmt: skip


def _documentos(folha: Folha, raiz, cte) -> None:
    norm = cte.find(f"{NS}infCTeNorm")
    linhas = [_documento_referenciado(ref) for ref in norm.iterfind(f"{NS}infDocRef")] if norm is not None else []
    if norm is not None and _texto(norm, "infCteSub/chCte"):
        linhas.append(f"CT-e OS substituído: {_texto(norm, 'infCteSub/chCte')}")
    linhas += [f"CT-e complementado: {_texto(c, 'chCTe')}" for c in cte.iterfind(f"{NS}infCteComp")]
    if linhas:
        folha.titulo("DOCUMENTOS REFERENCIADOS")
        folha.texto_livre("\n".join(linhas), altura_minima=6)


def _documento_referenciado(ref) -> str:
    if _texto(ref, "chBPe"):
        return f"BP-e {_texto(ref, 'chBPe')}"
    partes = [f"Nº {_texto(ref, 'nDoc')}", f"SÉRIE {_texto(ref, 'serie')}" if _texto(ref, "serie") else "",
              f"EMISSÃO {_data(_texto(ref, 'dEmi'))}",
              f"VALOR {_dinheiro(_texto(ref, 'vDoc'))}" if _texto(ref, "vDoc") else ""]  # fmt: skip
    return "   ".join(p for p in partes if p)


def _modal(folha: Folha, raiz, cte) -> None:
    norm = cte.find(f"{NS}infCTeNorm")
    rodo = norm.find(f"{NS}infModal/{NS}rodoOS") if norm is not None else None
    seguros = list(norm.iterfind(f"{NS}seg")) if norm is not None else []
    if rodo is not None:
        folha.titulo("INFORMAÇÕES ESPECÍFICAS DO MODAL RODOVIÁRIO")
        folha.linha([
            ("TERMO DE AUTORIZAÇÃO DE FRETAMENTO", _texto(rodo, "TAF"), 24),
            ("Nº DO REGISTRO ESTADUAL", _texto(rodo, "NroRegEstadual"), 20),
            ("PLACA", _texto(rodo, "veic/placa"), 12), ("UF", _texto(rodo, "veic/UF"), 6),
            ("RENAVAM", _texto(rodo, "veic/RENAVAM"), 14),
            ("FRETAMENTO", FRETAMENTOS.get(_texto(rodo, "infFretamento/tpFretamento"), ""), 12),
            ("DATA E HORA DA VIAGEM", _data_hora(_texto(rodo, "infFretamento/dhViagem")), 16),
        ])  # fmt: skip
    if seguros:
        folha.titulo("INFORMAÇÕES DO SEGURO")
        for seg in seguros:
            folha.linha([("RESPONSÁVEL", RESPONSAVEIS_SEGURO.get(_texto(seg, "respSeg"), _texto(seg, "respSeg")), 1),
                         ("SEGURADORA", _texto(seg, "xSeg"), 2), ("Nº DA APÓLICE", _texto(seg, "nApol"), 1)])


def _observacoes(folha: Folha, raiz, cte) -> None:
    compl, ide, imp = (cte.find(f"{NS}{tag}") for tag in ("compl", "ide", "imp"))
    linhas = [_texto(compl, "xObs")]
    for tag in ("ObsCont", "ObsFisco"):
        linhas += [f"{o.get('xCampo', '')}: {_texto(o, 'xTexto')}" for o in (compl.iterfind(f"{NS}{tag}")
                                                                           if compl is not None else ())]
    linhas.append(_texto(imp, "infAdFisco"))
    if _texto(compl, "xCaracSer"):
        linhas.append(f"CARACTERÍSTICA DO SERVIÇO: {_texto(compl, 'xCaracSer')}")
    if _texto(compl, "xCaracAd"):
        linhas.append(f"CARACTERÍSTICA ADICIONAL DO TRANSPORTE: {_texto(compl, 'xCaracAd')}")
    if _texto(ide, "dhCont"):
        linhas.append(f"EMITIDO EM CONTINGÊNCIA EM {_data_hora(_texto(ide, 'dhCont'))}: {_texto(ide, 'xJust')}")
    folha.titulo("OBSERVAÇÕES")
    folha.texto_livre("\n".join(linha for linha in linhas if linha), altura_minima=14)


def _reservado(folha: Folha, raiz, cte) -> None:
    emissor = _texto(cte.find(f"{NS}compl"), "xEmi")
    folha.linha([("USO EXCLUSIVO DO EMISSOR DO CT-E", f"EMITIDO POR: {emissor}" if emissor else "", 1),
                 ("RESERVADO AO FISCO", "", 1)], altura=14)  # fmt: skip


# -------------------------------------------------------------------------------------- graphics


def _codigo_de_barras(folha: Folha, chave: str, x, y, largura, altura) -> None:
    """The key in Code 128 (the DACTE's barcode), drawn bar by bar so it stays vector."""
    folha.rect(x, y, largura, altura)
    if not chave:
        return
    modulos = Code128(chave).build()[0]
    passo = (largura - 6) / len(modulos)
    inicio = None
    for i, modulo in enumerate(modulos + "0"):
        if modulo == "1" and inicio is None:
            inicio = i
        elif modulo == "0" and inicio is not None:
            folha.rect(x + 3 + inicio * passo, y + 1.5, (i - inicio) * passo, altura - 3, style="F")
            inicio = None


def _qr_code(folha: Folha, conteudo: str, x, y, largura, altura) -> None:
    folha.rect(x, y, largura, altura)
    if not conteudo:
        return
    qr = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(conteudo)
    qr.make(fit=True)
    matriz = qr.get_matrix()
    lado = min(largura, altura) - 4
    passo = lado / len(matriz)
    x0, y0 = x + (largura - lado) / 2, y + (altura - lado) / 2
    folha.set_fill_color(0, 0, 0)
    for i, fileira in enumerate(matriz):
        for j, escuro in enumerate(fileira):
            if escuro:
                folha.rect(x0 + j * passo, y0 + i * passo, passo + 0.01, passo + 0.01, style="F")


# ------------------------------------------------------------------------------------- formatting


def _texto(el, caminho: str) -> str:
    if el is None:
        return ""
    return (el.findtext("/".join(f"{NS}{parte}" for parte in caminho.split("/"))) or "").strip()


def _primeiro(el, *caminhos: str) -> str:
    return next((valor for valor in (_texto(el, c) for c in caminhos) if valor), "")


def _chave(cte) -> str:
    return (cte.get("Id") or "").removeprefix("CTe")


def _protocolo(raiz) -> str:
    inf = raiz.find(f".//{NS}protCTe/{NS}infProt")
    if inf is None:
        return ""
    return f"{_texto(inf, 'nProt')} - {_data_hora(_texto(inf, 'dhRecbto'))}"


def _municipio(ide, sufixo: str) -> str:
    municipio, uf = _texto(ide, f"xMun{sufixo}"), _texto(ide, f"UF{sufixo}")
    return f"{municipio} - {uf}" if municipio else uf


def _municipio_uf(ender) -> str:
    return f"{_texto(ender, 'xMun')}/{_texto(ender, 'UF')}"


def _situacao_icms(grupo) -> str:
    if grupo is None:
        return ""
    nome = etree.QName(grupo).localname
    if nome == "ICMSSN":
        return "SIMPLES NACIONAL"
    if nome == "ICMSOutraUF":
        return "90 - ICMS DEVIDO A OUTRA UF"
    cst = _texto(grupo, "CST")
    return SITUACOES_ICMS.get(cst, cst)


def _aliquota(g, grupo: str, tag: str) -> str:
    # With a reduction (gRed) the value comes from the effective rate, so that is the rate printed.
    return _texto(g, f"{grupo}/gRed/pAliqEfet") or _texto(g, f"{grupo}/{tag}")


def _documento(el) -> str:
    return formatar_documento(_texto(el, "CNPJ") or _texto(el, "CPF"))


def _cep(cep: str) -> str:
    return f"{cep[:5]}-{cep[5:]}" if len(cep) == 8 else cep


def _fone(fone: str) -> str:
    if len(fone) in (10, 11) and fone.isdigit():
        return f"({fone[:2]}) {fone[2:-4]}-{fone[-4:]}"
    return fone


def _decimal(valor: str) -> Decimal | None:
    try:
        return Decimal(valor) if valor else None
    except InvalidOperation:
        return None


def _dinheiro(valor: str) -> str:
    numero = _decimal(valor)
    return formatar_valor(numero) if numero is not None else valor


def _quantidade(valor: str) -> str:
    numero = _decimal(valor)
    if numero is None:
        return valor
    return f"{numero.normalize():,f}".translate(str.maketrans(",.", ".,"))


def _percentual(valor: str) -> str:
    # Printed with the decimals the document has (the reform's rates carry up to four).
    return valor.replace(".", ",")


def _data_hora(valor: str) -> str:
    try:
        return datetime.fromisoformat(valor).strftime("%d/%m/%Y %H:%M:%S")
    except ValueError:
        return valor


def _data(valor: str) -> str:
    try:
        return datetime.fromisoformat(valor).strftime("%d/%m/%Y")
    except ValueError:
        return valor
