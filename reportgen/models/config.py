"""Which model writes the code: the spec's `model:`, --model, and the OPENAI_* environment."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from ..errors import ReportgenError
from ..spec import Spec

DEFAULT_MODEL = "gpt-4o"
OUTER_RETRIES = 2  # on top of the SDK's own retries, for rate limits and server errors
OUTER_BACKOFF = 5.0  # seconds, doubled each time


class ModelError(ReportgenError):
    """The model cannot be used: key, name, server. Nothing half-written is left behind."""


@dataclass
class ModelSettings:
    provider: str  # openai | openai-compatible
    name: str
    execution: str  # hosted | local
    api: str  # responses | chat
    base_url: str | None
    api_key: str
    max_attempts: int
    timeout: float
    prices: dict[str, float]

    @property
    def where(self) -> str:
        return self.base_url or "api.openai.com"

    def cost(self, input_tokens: int, output_tokens: int, containers: int = 0) -> float | None:
        if "input" not in self.prices:
            return None
        total = input_tokens * self.prices["input"] / 1e6 + output_tokens * self.prices["output"] / 1e6
        return round(total + containers * self.prices.get("container", 0.0), 6)


def resolve(spec: Spec, env: Mapping[str, str], name: str | None = None) -> ModelSettings | None:
    """The model for this build, or None when none is configured."""
    config = spec.model
    base_url = config.base_url or env.get("OPENAI_BASE_URL") or None
    key = env.get("OPENAI_API_KEY") or ""
    provider = config.provider
    if provider is None:
        provider = "openai" if key else ("openai-compatible" if base_url else "none")
    if provider == "none":
        return None
    if provider == "openai" and not key:
        raise ModelError("The spec asks for provider openai but OPENAI_API_KEY is not set. Export your key, or set `model: {provider: none}` to replay the lock file only.")
    if provider == "openai-compatible" and not base_url:
        raise ModelError("provider openai-compatible needs the server's address: set `model: {base_url: http://host:port/v1}` or OPENAI_BASE_URL.")
    execution = config.execution or ("hosted" if provider == "openai" else "local")
    if execution == "hosted" and provider != "openai":
        raise ModelError("Hosted execution uses OpenAI's Code Interpreter; with an OpenAI-compatible server use `execution: local`.")
    model = name or config.name or (DEFAULT_MODEL if provider == "openai" else None)
    if not model:
        raise ModelError("Name the model the server should use: `model: {name: …}` in the spec, or --model NAME.")
    api = config.api or ("responses" if provider == "openai" else "chat")
    return ModelSettings(provider, model, execution, api, base_url, key or "unused", config.max_attempts,
                         config.timeout, _prices(model, config.prices))


def _prices(model: str, override: dict[str, float] | None) -> dict[str, float]:
    table = yaml.safe_load((Path(__file__).parent.parent / "prices.yaml").read_text())
    prices = dict(table["models"].get(model, {}))
    prices["container"] = table["container"]
    prices.update(override or {})
    return prices


def client(settings: ModelSettings):
    from openai import OpenAI

    return OpenAI(api_key=settings.api_key, base_url=settings.base_url, timeout=settings.timeout, max_retries=3)


def check(openai_client, settings: ModelSettings) -> None:
    """One cheap request before anything runs: is the server there, the key good, the model known?"""
    import openai

    try:
        available = [m.id for m in openai_client.models.list()]
    except openai.NotFoundError:
        return  # a server without a model listing; the first real request will tell
    except Exception as exc:  # noqa: BLE001 - every failure here becomes one message
        raise explain(exc, settings) from None
    if available and settings.name not in available:
        shown = ", ".join(sorted(available)[:12])
        raise ModelError(f"Model {settings.name!r} is not available at {settings.where} (it offers: {shown}). Set `model: {{name: …}}` or --model.")


def explain(exc: Exception, settings: ModelSettings) -> ReportgenError:
    """An SDK error as one message saying what to do."""
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return ModelError(f"{settings.where} rejected the API key (401). Set OPENAI_API_KEY to a valid key.")
    if isinstance(exc, openai.PermissionDeniedError):
        return ModelError(f"{settings.where} refused access (403): {_message(exc)}")
    if isinstance(exc, openai.NotFoundError):
        return ModelError(f"{settings.where} does not know model {settings.name!r} or this API (404): {_message(exc)}")
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return ModelError(f"Cannot reach the model server at {settings.where}: {exc}. Is it running, and is the address right?")
    return ModelError(f"The model request failed: {_message(exc)}")


def _message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(exc)


def with_retries(request: Callable[[], Any], note: Callable[[str], None] = lambda _: None) -> Any:
    """Retry rate limits and server errors a few more times than the SDK does, with backoff."""
    import openai

    delay = OUTER_BACKOFF
    for attempt in range(OUTER_RETRIES + 1):
        try:
            return request()
        except (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError) as exc:
            if attempt == OUTER_RETRIES:
                raise
            note(f"model request failed ({type(exc).__name__}); retrying in {delay:.0f}s")
            time.sleep(delay)
            delay *= 2
