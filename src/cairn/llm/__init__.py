"""One model interface over several providers: OpenAI-compatible servers, Anthropic, and a
local GGUF model.

`Model.generate()` returns a `Response`; `Model.stream()` yields typed events (text
deltas, tool-call start/argument delta/end, usage, finish, error); `embed()` exists where
the provider has an embeddings endpoint (OpenAI-compatible). Optional abilities are
explicit interfaces checked with isinstance (`CanPrefill`, `CanScore`, `CanEmbed`,
`CanSwapHttpClient`, `HasSecrets`, `HasContextWindow`, `CanClose`). Providers import
their SDKs lazily.
"""

from ._anthropic import AnthropicModel
from ._capabilities import (
    CanClose,
    CanEmbed,
    CanPrefill,
    CanScore,
    CanSwapHttpClient,
    HasContextWindow,
    HasSecrets,
)
from ._config import (
    ConfigError,
    LLMConfig,
    MissingKeyError,
    ModelInfo,
    default_spec,
    list_models,
    load_config,
    open_model,
    split_spec,
)
from ._embedder import (
    DEFAULT_EMBEDDINGS_MODEL,
    DEFAULT_EMBEDDINGS_URL,
    ModelEmbedder,
    open_embedder,
    open_index_embedder,
)
from ._errors import LLMError, ProviderError, ProviderUnavailableError
from ._local import (
    DEFAULT_MODEL_FILE,
    LocalModel,
    default_model_path,
    quiet_llama_logs,
    render_prompt,
)
from ._model import Model, run_sync
from ._openai import OpenAIModel, decode_arguments
from ._types import (
    Embeddings,
    ErrorEvent,
    Finish,
    Message,
    Options,
    Request,
    Response,
    Role,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    ToolDef,
    Usage,
    UsageEvent,
    system,
    user,
)

__all__ = [
    "DEFAULT_EMBEDDINGS_MODEL",
    "DEFAULT_EMBEDDINGS_URL",
    "DEFAULT_MODEL_FILE",
    "AnthropicModel",
    "CanClose",
    "CanEmbed",
    "CanPrefill",
    "CanScore",
    "CanSwapHttpClient",
    "ConfigError",
    "Embeddings",
    "ErrorEvent",
    "Finish",
    "HasContextWindow",
    "HasSecrets",
    "LLMConfig",
    "LLMError",
    "LocalModel",
    "Message",
    "MissingKeyError",
    "Model",
    "ModelEmbedder",
    "ModelInfo",
    "OpenAIModel",
    "Options",
    "ProviderError",
    "ProviderUnavailableError",
    "Request",
    "Response",
    "Role",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "ToolDef",
    "Usage",
    "UsageEvent",
    "decode_arguments",
    "default_model_path",
    "default_spec",
    "list_models",
    "load_config",
    "open_embedder",
    "open_index_embedder",
    "open_model",
    "quiet_llama_logs",
    "render_prompt",
    "run_sync",
    "split_spec",
    "system",
    "user",
]
