"""One model interface over several providers (OpenAI-compatible so far).

`Model.generate()` returns a `Response`; `Model.stream()` yields typed events (text
deltas, tool-call start/argument delta/end, usage, finish, error). Providers import
their SDKs lazily.
"""

from ._errors import LLMError, ProviderError, ProviderUnavailableError
from ._model import Model, run_sync
from ._openai import OpenAIModel, decode_arguments
from ._types import (
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
    "ErrorEvent",
    "Finish",
    "LLMError",
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
    "run_sync",
    "system",
    "user",
]
