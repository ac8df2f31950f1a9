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

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(url: string): Promise<T> {
  const reply = await fetch(url, { credentials: "same-origin" });
  if (!reply.ok) {
    let detail = `${reply.status} ${reply.statusText}`;
    try {
      detail = ((await reply.json()) as { detail?: string }).detail ?? detail;
    } catch {
      /* not JSON: the status says enough */
    }
    throw new ApiError(reply.status, detail);
  }
  return (await reply.json()) as T;
}

export function listFiles(): Promise<{ files: string[] }> {
  return getJson("/v1/files");
}

export function openNotebook(path: string): Promise<Notebook> {
  return getJson(`/v1/files/notebook?path=${encodeURIComponent(path)}`);
}
