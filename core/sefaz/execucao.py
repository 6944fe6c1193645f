"""A capture run: what it did per service, the ConsultaSEFAZ row of each call, and what its event and e-mail say."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils import timezone

from core.models import CertificadoDigital, ConsultaSEFAZ


@dataclass
class ResultadoDoServico:
    servico: str
    # concluida, continua, aguardando, bloqueada, erro, problema, or em_andamento: another run has the
    # sequence (it was taken, or this run outlived its lease and another took it over)
    situacao: str = "concluida"
    chamadas: int = 0
    documentos: int = 0
    importados: int = 0  # new or upgraded documents in the certificate's organization
    duplicados: int = 0
    erros: int = 0  # documents that could not be stored there (kept in the ImportLog)
    falhas: int = 0  # calls without a usable SEFAZ answer (network, TLS, HTTP, SOAP fault)
    cstat: int | None = None
    xmotivo: str = ""
    ult_nsu: int | None = None
    max_nsu: int | None = None
    proxima_consulta_em: datetime | None = None
    mensagem: str = ""
    ciencias: int = 0  # automatic ciência sent for new summaries
    resumos_novos: list[str] = field(default_factory=list, repr=False)


@dataclass
class Execucao:
    id: str
    certificado_id: int
    origem: str
    servicos: list[ResultadoDoServico] = field(default_factory=list)
    certificado: CertificadoDigital | None = field(default=None, repr=False)
    ciencias_pendentes: int = 0  # ciências still unregistered after this run (retried by the next one)
    # New summaries stored in the other organizations sharing the sequence: organization id -> keys.
    resumos_das_outras: dict[int, list[str]] = field(default_factory=dict, repr=False)

    @property
    def chamadas(self) -> int:
        return sum(s.chamadas for s in self.servicos)

    def resumo(self) -> dict:
        return {
            "execucao": self.id, "certificado": self.certificado_id, "origem": self.origem,
            "documentos": sum(s.documentos for s in self.servicos),
            "importados": sum(s.importados for s in self.servicos),
            "duplicados": sum(s.duplicados for s in self.servicos),
            "erros": sum(s.erros for s in self.servicos),
            "servicos": [asdict(s) for s in self.servicos],
        }  # fmt: skip


def registro_da_consulta(cursor, execucao, tipo, resposta, *, nsu_consultado=None, erro="") -> ConsultaSEFAZ:
    """The ConsultaSEFAZ row of one call (unsaved: it is inserted with what the answer stored)."""
    return ConsultaSEFAZ(
        organizacao=execucao.certificado.organizacao, certificado=execucao.certificado, cursor=cursor,
        execucao=execucao.id,
        documento=cursor.documento, servico=cursor.servico, ambiente=cursor.ambiente, tipo=tipo,
        nsu_consultado=nsu_consultado, origem=execucao.origem, erro=erro,
        cstat=resposta.cstat if resposta else None, xmotivo=(resposta.xmotivo if resposta else "")[:500],
        ult_nsu=resposta.ult_nsu if resposta else None, max_nsu=resposta.max_nsu if resposta else None,
        duracao_ms=resposta.duracao_ms if resposta else None,
    )  # fmt: skip


def consulta_para_email(certificado: CertificadoDigital, execucao: Execucao) -> dict:
    """What the "consulta concluída" e-mail says about the run."""
    por_servico = {s.servico: s for s in execucao.servicos}
    falhas = [s.mensagem for s in execucao.servicos if s.situacao in ("erro", "problema")]
    unico = execucao.servicos[0] if len(execucao.servicos) == 1 else None
    return {
        "documentos": sum(s.importados for s in execucao.servicos),
        "nfe": por_servico["nfe"].importados if "nfe" in por_servico else 0,
        "cte": por_servico["cte"].importados if "cte" in por_servico else 0,
        "cnpj": certificado.documento, "servico": unico.servico if unico else "",
        "ult_nsu": unico.ult_nsu if unico else "", "max_nsu": unico.max_nsu if unico else "",
        "concluida_em": timezone.now(), "mensagem": "; ".join(s.xmotivo for s in execucao.servicos if s.xmotivo),
        "erro": "; ".join(falhas),
    }  # fmt: skip


def dados_do_evento(certificado: CertificadoDigital, execucao: Execucao) -> dict:
    """The `dados` of the run's `consulta_concluida` event."""
    return {
        "certificado": certificado.documento, "certificado_id": certificado.pk, "execucao": execucao.id,
        "origem": execucao.origem, "documentos": sum(s.documentos for s in execucao.servicos),
        "importados": sum(s.importados for s in execucao.servicos),
        "servicos": [
            {"servico": s.servico, "situacao": s.situacao, "chamadas": s.chamadas, "documentos": s.documentos,
             "importados": s.importados, "cstat": s.cstat, "xmotivo": s.xmotivo, "ult_nsu": s.ult_nsu,
             "max_nsu": s.max_nsu, "proxima_consulta_em": s.proxima_consulta_em}
            for s in execucao.servicos
        ],
    }  # fmt: skip
