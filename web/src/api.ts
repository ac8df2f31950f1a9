// The server's API, with the session cookie the login set (same origin only).
export interface Cell {
  kind: "markup" | "code";
  language: string | null;
  source: string;
  name: string | null;
  id: string | null;
  interactive: boolean | null;
  line: number;
}

export interface Notebook {
  cells: Cell[];
}

export interface Loaded {
  notebook: Notebook;
  etag: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function failure(reply: Response): Promise<ApiError> {
  let detail = `${reply.status} ${reply.statusText}`;
  try {
    detail = ((await reply.json()) as { detail?: string }).detail ?? detail;
  } catch {
    /* not JSON: the status says enough */
  }
  return new ApiError(reply.status, detail);
}

async function getJson<T>(url: string): Promise<T> {
  const reply = await fetch(url, { credentials: "same-origin" });
  if (!reply.ok) throw await failure(reply);
  return (await reply.json()) as T;
}

export function listFiles(): Promise<{ files: string[] }> {
  return getJson("/v1/files");
}

export async function openNotebook(path: string): Promise<Loaded> {
  const reply = await fetch(`/v1/files/notebook?path=${encodeURIComponent(path)}`, {
    credentials: "same-origin",
  });
  if (!reply.ok) throw await failure(reply);
  return { notebook: (await reply.json()) as Notebook, etag: reply.headers.get("etag") ?? "*" };
}

export async function saveNotebook(
  path: string,
  edits: { index: number; source: string }[],
  ifMatch: string,
): Promise<Loaded> {
  const reply = await fetch(`/v1/files/notebook?path=${encodeURIComponent(path)}`, {
    method: "PUT",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "if-match": ifMatch },
    body: JSON.stringify({ edits }),
  });
  if (!reply.ok) throw await failure(reply);
  return { notebook: (await reply.json()) as Notebook, etag: reply.headers.get("etag") ?? "*" };
}

export interface Execution {
  known_id: string | null;
  known_name: string | null;
  exit_code: number | null;
  time: string;
  stdout: string;
  stderr: string;
}

export async function lastOutputs(path: string): Promise<Execution[]> {
  return getJson(`/v1/files/outputs?path=${encodeURIComponent(path)}`);
}
