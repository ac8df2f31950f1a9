"""One model interface over several providers: OpenAI-compatible servers, Anthropic, and a
local GGUF model.

`Model.generate()` returns a `Response`; `Model.stream()` yields typed events (text
deltas, tool-call start/argument delta/end, usage, finish, error); `embed()` exists where
the provider has an embeddings endpoint (OpenAI-compatible). Providers import
their SDKs lazily.
"""

from ._anthropic import AnthropicModel
from ._errors import LLMError, ProviderError, ProviderUnavailableError
from ._local import LocalModel, render_prompt
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
    "AnthropicModel",
    "Embeddings",
    "ErrorEvent",
    "Finish",
    "LLMError",
    "LocalModel",
    "Message",
    "Model",
    "OpenAIModel",
    "Options",
    "ProviderError",
    "ProviderUnavailableError",
    "Request",
    "Response",
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
    "render_prompt",
    "run_sync",
    "system",
    "user",
]
