"""A warning logged at most once per interval, so a dependency that keeps failing does not flood the log."""

from __future__ import annotations

import logging
import math
import time


class AvisoEspacado:
    """`avisar` logs at most once every `intervalo` seconds and says how many warnings it left out since."""

    def __init__(self, logger: logging.Logger, intervalo: float = 60) -> None:
        self.logger, self.intervalo = logger, intervalo
        self.esquecer()

    def avisar(self, mensagem: str, *argumentos) -> None:
        agora = time.monotonic()
        if agora - self.ultimo < self.intervalo:
            self.omitidos += 1
            return
        self.logger.warning(f"{mensagem} (%d falhas omitidas desde o último aviso)", *argumentos, self.omitidos)
        self.ultimo, self.omitidos = agora, 0

    def esquecer(self) -> None:
        """Forget the last warning (tests; a new process)."""
        self.ultimo, self.omitidos = -math.inf, 0
