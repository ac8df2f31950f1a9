"""The agent: tools with effect classes, the agent loop, and speculation behind write
barriers — guessed tool calls that may read but never write before the model asks for
them, and next model calls started on guessed results that are shown only once the real
results match.
"""

from ._barrier import ToolContext, WriteBarrier
from ._errors import AgentError, BarrierDenied, BudgetExceeded, ToolError
from ._loop import (
    SEQUENTIAL,
    Agent,
    AgentEvent,
    AgentOptions,
    Answer,
    Approve,
    Stats,
    Text,
    ToolFinished,
    ToolStarted,
    Tracer,
)
from ._ops import SYSTEM, OpsContext, assistant, docs_search, opening, ops_tools
from ._predict import HistoryPredictor, Predictor, Predictors, RulePredictor
from ._speculate import Epochs, Guess, Speculator, ToolRun, execute
from ._tools import Effect, Parsed, Tool
from ._trace import RecorderTracer

__all__ = [
    "SEQUENTIAL",
    "SYSTEM",
    "Agent",
    "AgentError",
    "AgentEvent",
    "AgentOptions",
    "Answer",
    "Approve",
    "BarrierDenied",
    "BudgetExceeded",
    "Effect",
    "Epochs",
    "Guess",
    "HistoryPredictor",
    "OpsContext",
    "Parsed",
    "Predictor",
    "Predictors",
    "RecorderTracer",
    "RulePredictor",
    "Speculator",
    "Stats",
    "Text",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolFinished",
    "ToolRun",
    "ToolStarted",
    "Tracer",
    "WriteBarrier",
    "assistant",
    "docs_search",
    "execute",
    "opening",
    "ops_tools",
]
