"""A local HTTPS SOAP server that behaves like the Ambiente Nacional's DistribuicaoDFe and RecepcaoEvento.

For tests, the demo (`python manage.py sefaz_simulador`) and the benchmark; it never leaves 127.0.0.1.
Modules, one concern each: `tls` (server context, caller identity from the client certificate), `soap`
(SOAP 1.1/1.2 envelopes and faults), `armazem` (NSU streams, the 137/138/589/656 rules, the simulated
clock), `distribuicao` (distDFeInt/retDistDFeInt), `eventos` (envEvento/retEnvEvento), `servidor`
(threaded HTTPS) and `simulador` (the `Simulador` API tying them together).
"""

from .armazem import EventoRegistrado, Relogio, SituacaoFluxo
from .simulador import CAMINHOS_PADRAO, MODOS_DE_FALHA, Chamada, Simulador

__all__ = [
    "CAMINHOS_PADRAO",
    "MODOS_DE_FALHA",
    "Chamada",
    "EventoRegistrado",
    "Relogio",
    "SituacaoFluxo",
    "Simulador",
]
