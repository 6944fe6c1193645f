"""The API rate limit: who is calling (`identidade`) and the per-minute counters (`contadores`).

The middleware that applies it is `core.middleware.RateLimitMiddleware`.
"""
