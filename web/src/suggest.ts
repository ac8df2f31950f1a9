// The copilot's next cell: `/v1/suggest` read as server-sent events, and accepting or
// dismissing a suggestion (`/v1/suggestions/accept|reject`, logged in the learning log).
import { ApiError, type Loaded, type Notebook } from "./api";

export interface SuggestedCell {
  id: string;
  kind: "code" | "markup";
  language: string | null;
  source: string;
}

export interface Suggestion {
  trace_id: string;
  confidence: number;
  confident: boolean;
  cells: SuggestedCell[];
}

export function parseEvents(text: string): { event: string; data: unknown }[] {
  const out: { event: string; data: unknown }[] = [];
  for (const block of text.split("\n\n")) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) event = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length) out.push({ event, data: JSON.parse(data.join("\n")) });
  }
  return out;
}

export async function suggestAfter(path: string, after: string): Promise<Suggestion | null> {
  const reply = await fetch("/v1/suggest", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ path, after, n: 1 }),
  });
  if (!reply.ok) throw new ApiError(reply.status, `no suggestion (${reply.status})`);
  for (const { event, data } of parseEvents(await reply.text())) {
    if (event === "suggestion") return data as Suggestion;
    if (event === "error") throw new ApiError(502, (data as { message: string }).message);
  }
  return null;
}

export async function accept(
  path: string,
  cursor: number,
  suggestion: Suggestion,
  cell: SuggestedCell,
  etag: string,
): Promise<Loaded> {
  const reply = await fetch("/v1/suggestions/accept", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "if-match": etag },
    body: JSON.stringify({
      path,
      cursor,
      trace_id: suggestion.trace_id,
      cell_id: cell.id,
      source: cell.source,
      language: cell.language ?? "sh",
    }),
  });
  if (!reply.ok) {
    const detail = ((await reply.json().catch(() => ({}))) as { detail?: string }).detail;
    throw new ApiError(reply.status, detail ?? `not inserted (${reply.status})`);
  }
  return { notebook: (await reply.json()) as Notebook, etag: reply.headers.get("etag") ?? "*" };
}

export async function reject(suggestion: Suggestion): Promise<void> {
  await fetch("/v1/suggestions/reject", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      trace_id: suggestion.trace_id,
      cell_ids: suggestion.cells.map((c) => c.id),
      reason: "dismissed",
    }),
  });
}
