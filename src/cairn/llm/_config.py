"""Which model to use: `<config dir>/cairn.toml` plus environment variables.

A model is named `provider:model` ("openai:gpt-4o-mini", "anthropic:claude-haiku-4-5",
"local" or "local:/path/model.gguf"). Without a name, the configured default is used,
else the local GGUF model, so Cairn works offline out of the box.

    [llm]
    default = "openai:gpt-4o-mini"

    [llm.openai]
    base_url = "http://127.0.0.1:11434/v1"   # Ollama, vLLM, LM Studio, llama.cpp …
    model = "llama3.2"

    [llm.anthropic]
    model = "claude-haiku-4-5"

Keys come from the environment only (OPENAI_API_KEY, ANTHROPIC_API_KEY), never from the
file; OPENAI_BASE_URL overrides the file's base URL. A provider's own API without its key
is refused here, before any network call; a base URL elsewhere (a local server, a proxy)
may need no key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import ConfigFileError, ConfigFiles
from ._errors import LLMError
from ._model import Model

PROVIDERS = ("openai", "anthropic", "local")
DEFAULT_MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5", "local": ""}
# The hosts of the providers' own APIs, which always need a key.
OWN_HOSTS = {"openai": "api.openai.com", "anthropic": "api.anthropic.com"}
KEY_VARIABLES = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


class ConfigError(LLMError):
    """cairn.toml is unreadable or names something that does not exist."""


class MissingKeyError(ConfigError):
    """A provider's own API is asked for, and its API key is not in the environment."""


@dataclass
class LLMConfig:
    default: str | None = None
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None
    # The files it came from: the recorder reads its `[debug]` table from the same
    # object (None: no config dir, nothing configured, nowhere to record into).
    files: ConfigFiles | None = None


def load_config(files: ConfigFiles) -> LLMConfig:
    """The `[llm]` tables of the configuration files read by `cairn.config.load`
    (missing file: defaults)."""
    path = files.path
    try:
        llm = files.table("llm")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    if llm is None:
        return LLMConfig(path=path, files=files)
    providers = {k: v for k, v in llm.items() if isinstance(v, dict)}
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown provider table [llm.{unknown[0]}]; use {', '.join(PROVIDERS)}"
        )
    default = llm.get("default")
    return LLMConfig(
        default=str(default) if default else None, providers=providers, path=path, files=files
    )


def split_spec(spec: str) -> tuple[str, str]:
    provider, _, name = spec.partition(":")
    if provider not in PROVIDERS:
        raise ConfigError(
            f"unknown model {spec!r}: name it provider:model"
            f" with provider one of {', '.join(PROVIDERS)}"
        )
    return provider, name


def default_spec(config: LLMConfig, env: Mapping[str, str]) -> str:
    """The configured default; else the local model (offline by default)."""
    return config.default or "local"


def _base_url(provider: str, table: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """The base URL the provider's SDK will use; None for the provider's own API."""
    if provider == "openai":
        base = env.get("OPENAI_BASE_URL") or table.get("base_url")
    else:  # the file's base URL, else the one the anthropic SDK reads from the environment
        base = table.get("base_url") or env.get("ANTHROPIC_BASE_URL")
    return str(base) if base else None


def _needs_key(provider: str, base_url: str | None) -> bool:
    """Whether requests go to the provider's own API (which refuses them without a key)."""
    if base_url is None:
        return True
    return (urlsplit(base_url).hostname or "").lower() == OWN_HOSTS[provider]


def _key(provider: str, base_url: str | None, env: Mapping[str, str]) -> str | None:
    """The provider's API key; MissingKeyError when its own API would get none."""
    variable = KEY_VARIABLES[provider]
    key = env.get(variable)
    if not key and _needs_key(provider, base_url):
        url_variable = "OPENAI_BASE_URL" if provider == "openai" else "ANTHROPIC_BASE_URL"
        raise MissingKeyError(
            f"{variable} is not set: the {provider} provider needs an API key in the"
            f" environment (export {variable}=…), or a base_url in [llm.{provider}] of"
            f" cairn.toml (or {url_variable}) for a server that needs none"
        )
    return key or None


def open_model(spec: str | None, config: LLMConfig, env: Mapping[str, str] | None = None) -> Model:
    """A Model for `spec` (or the default), configured from cairn.toml and the environment.

    Raises MissingKeyError, before anything touches the network, when the provider's own
    API (OpenAI's, Anthropic's) is asked for without its API key."""
    env = os.environ if env is None else env
    provider, name = split_spec(spec or default_spec(config, env))
    table = config.providers.get(provider, {})
    name = name or str(table.get("model") or DEFAULT_MODELS[provider])
    if provider == "openai":
        from ._openai import OpenAIModel

        base_url = _base_url(provider, table, env)
        return OpenAIModel(name, base_url=base_url, api_key=_key(provider, base_url, env))
    if provider == "anthropic":
        from ._anthropic import AnthropicModel

        base_url = _base_url(provider, table, env)
        return AnthropicModel(name, base_url=base_url, api_key=_key(provider, base_url, env))
    from ._local import LocalModel

    return LocalModel(name or table.get("path") or None)


@dataclass(frozen=True)
class ModelInfo:
    spec: str
    provider: str
    configured: bool  # a key or a base URL is there (local: always)
    default: bool
    detail: str


def list_models(config: LLMConfig, env: Mapping[str, str] | None = None) -> list[ModelInfo]:
    """One line per provider: the model it would use and whether it can be used."""
    env = os.environ if env is None else env
    default_provider = split_spec(default_spec(config, env))[0]
    out = []
    for provider in PROVIDERS:
        table = config.providers.get(provider, {})
        name = str(table.get("model") or DEFAULT_MODELS[provider])
        spec = f"{provider}:{name}" if name else provider
        if provider in KEY_VARIABLES:
            base = _base_url(provider, table, env)
            has_key = bool(env.get(KEY_VARIABLES[provider]))
            configured = has_key or not _needs_key(provider, base)
            detail = (
                f"base_url={base or OWN_HOSTS[provider]}; key {'set' if has_key else 'missing'}"
            )
        else:
            configured = True
            detail = str(table.get("path") or "bundled gemma3-270m (offline)")
        out.append(ModelInfo(spec, provider, configured, provider == default_provider, detail))
    return out
