// The page's panels besides the notebook: Ask (the operations assistant, approvals
// inline), Actions (the bot's action log: diffs, Approve / Deny) and Debug (recorded model
// calls, as `cairn debug show` prints them). A panel whose backend is missing says so.
import { element } from "./dom";
import { parseEvents } from "./suggest";

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const reply = await fetch(url, { credentials: "same-origin", ...init });
  const body = (await reply.json().catch(() => ({}))) as T & { detail?: string };
  if (!reply.ok) throw new Error(body.detail ?? `${reply.status} ${reply.statusText}`);
  return body;
}

/** Who decides, for the logs: a name the user gives once (kept in this browser). */
export function decider(): string {
  return localStorage.getItem("cairn.who") || "web page";
}

function unavailable(target: HTMLElement, error: unknown): void {
  target.replaceChildren(
    element("p", { class: "unavailable" }, `Not available here: ${(error as Error).message}`),
  );
}

// -- Ask ---------------------------------------------------------------------------------

export function askPanel(target: HTMLElement, runbook: () => string | null): void {
  const form = element("form", { class: "ask" });
  const question = element("textarea", { name: "question", rows: "3", placeholder: "Ask about your runbooks…" });
  const go = element("button", { type: "submit" }, "Ask");
  form.append(question, go);
  const answer = element("div", { class: "answer" });
  const calls = element("ol", { class: "calls" });
  target.replaceChildren(form, calls, answer);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!question.value.trim()) return;
    void ask(question.value, runbook(), answer, calls, go);
  });
}

async function ask(
  text: string,
  path: string | null,
  answer: HTMLElement,
  calls: HTMLElement,
  go: HTMLButtonElement,
): Promise<void> {
  answer.textContent = "";
  calls.replaceChildren();
  go.disabled = true;
  try {
    const reply = await fetch("/v1/ask", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: text, ...(path ? { path } : {}) }),
    });
    if (!reply.ok || reply.body === null) {
      const detail = ((await reply.json().catch(() => ({}))) as { detail?: string }).detail;
      throw new Error(detail ?? `${reply.status}`);
    }
    const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const end = buffer.lastIndexOf("\n\n");
      if (end < 0) continue;
      for (const { event, data } of parseEvents(buffer.slice(0, end + 2))) {
        handle(event, data as Record<string, unknown>, answer, calls);
      }
      buffer = buffer.slice(end + 2);
    }
  } catch (error) {
    answer.append(element("p", { class: "error" }, (error as Error).message));
  } finally {
    go.disabled = false;
  }
}

function handle(event: string, data: Record<string, unknown>, answer: HTMLElement, calls: HTMLElement): void {
  switch (event) {
    case "text":
      answer.append(String(data.text));
      break;
    case "tool_started":
      calls.append(element("li", { "data-call": String(data.id) }, `${data.name} ${data.arguments}`));
      break;
    case "tool_finished": {
      const item = calls.querySelector(`[data-call="${String(data.id)}"]`);
      item?.append(element("pre", { class: data.error ? "result error" : "result" }, String(data.result)));
      break;
    }
    case "approval": {
      const item = calls.querySelector(`[data-call="${String(data.call)}"]`) ?? calls;
      const box = element("div", { class: "approval", role: "alert" });
      box.append(element("span", {}, `Run ${data.name} ${data.arguments}?`));
      for (const [label, approve] of [["Approve", true], ["Deny", false]] as const) {
        const button = element("button", { type: "button", class: label.toLowerCase() }, label);
        button.addEventListener("click", () => {
          box.remove();
          void json(`/v1/ask/${String(data.session)}/approve`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ call: data.call, approve, who: decider() }),
          });
        });
        box.append(button);
      }
      item.append(box);
      break;
    }
    case "answer":
      if (data.stopped) answer.append(element("p", { class: "error" }, String(data.stopped)));
      break;
    case "error":
      answer.append(element("p", { class: "error" }, String(data.message)));
      break;
  }
}

// -- Actions -------------------------------------------------------------------------------

interface Action {
  id: string;
  kind: string;
  key: string;
  state: string;
  diff?: string;
  approval_required?: boolean;
}

export async function actionsPanel(target: HTMLElement): Promise<void> {
  target.replaceChildren(element("p", {}, "Loading…"));
  let actions: Action[];
  try {
    actions = await json<Action[]>("/v1/bot/actions");
  } catch (error) {
    unavailable(target, error);
    return;
  }
  if (actions.length === 0) {
    target.replaceChildren(element("p", {}, "The bot's action log is empty."));
    return;
  }
  const list = element("ul", { class: "actions" });
  for (const action of actions) {
    const item = element("li", { "data-action": action.id });
    item.append(element("strong", {}, action.kind), ` ${action.key} `, element("span", { class: "state" }, action.state));
    if (action.diff) item.append(element("pre", { class: "diff" }, action.diff));
    if (action.state === "pending") {
      for (const [label, verb] of [["Approve", "approve"], ["Deny", "deny"]] as const) {
        const button = element("button", { type: "button", class: verb }, label);
        button.addEventListener("click", async () => {
          try {
            await json(`/v1/bot/actions/${action.id}/${verb}`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ who: decider() }),
            });
            await actionsPanel(target);
          } catch (error) {
            item.append(element("p", { class: "error" }, (error as Error).message));
          }
        });
        item.append(button);
      }
    }
    list.append(item);
  }
  target.replaceChildren(list);
}

// -- Debug ---------------------------------------------------------------------------------

interface RunRow {
  id: string;
  kind: string;
  title: string;
  status: string;
  steps: number | null;
}

export async function debugPanel(target: HTMLElement): Promise<void> {
  target.replaceChildren(element("p", {}, "Loading…"));
  let runs: RunRow[];
  try {
    runs = await json<RunRow[]>("/v1/debug/runs");
  } catch (error) {
    unavailable(target, error);
    return;
  }
  const list = element("ul", { class: "runs" });
  const shown = element("pre", { class: "run" });
  for (const run of runs) {
    const link = element("a", { href: "#", "data-run": run.id }, `${run.kind} · ${run.status} · ${run.title || run.id}`);
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      try {
        shown.textContent = (await json<{ text: string }>(`/v1/debug/runs/${run.id}`)).text;
      } catch (error) {
        shown.textContent = (error as Error).message;
      }
    });
    const item = element("li");
    item.append(link);
    list.append(item);
  }
  target.replaceChildren(runs.length ? list : element("p", {}, "No model calls recorded yet."), shown);
}
