// Cairn's web notebook: the runbooks of the served directory, each opened as a notebook
// whose code cells run with their output streaming in.
import "./style.css";
import { ApiError, listFiles, openNotebook, type Cell } from "./api";
import { renderMarkdown } from "./markdown";
import { formatDuration } from "./output";
import { runCell, type Running } from "./run";

const files = document.getElementById("files") as HTMLElement;
const notebook = document.getElementById("notebook") as HTMLElement;
const where = document.getElementById("where") as HTMLElement;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(where: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  where.replaceChildren(element("p", { class: "error" }, message));
}

async function showFiles(): Promise<void> {
  try {
    const { files: paths } = await listFiles();
    files.replaceChildren(
      ...paths.map((path) => {
        const link = element("a", { href: `#${encodeURIComponent(path)}`, "data-path": path }, path);
        return link;
      }),
    );
    if (paths.length === 0) files.replaceChildren(element("p", {}, "No runbooks here."));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) location.assign("/");
    showError(files, error);
  }
}

function codeCell(path: string, cell: Cell, index: number): HTMLElement {
  const ref = cell.id ?? cell.name ?? String(index);
  const box = element("div", { class: "cell code", "data-cell": ref });
  const bar = element("div", { class: "bar" });
  bar.append(element("span", { class: "name" }, cell.name ?? `cell ${index + 1}`));
  bar.append(element("span", { class: "language" }, cell.language ?? "sh"));
  if (cell.interactive) bar.append(element("span", { class: "note" }, "(runs without a terminal)"));
  const run = element("button", { class: "run", type: "button" }, "Run");
  const stop = element("button", { class: "stop", type: "button", disabled: "" }, "Stop");
  const status = element("span", { class: "status" });
  bar.append(run, stop, status);
  const source = element("pre", { class: "source" });
  source.append(element("code", {}, cell.source));
  const output = element("pre", { class: "output" });
  box.append(bar, source, output);

  let running: Running | null = null;
  run.addEventListener("click", () => {
    output.replaceChildren();
    status.textContent = "running…";
    status.className = "status";
    run.disabled = true;
    stop.disabled = false;
    const finish = () => {
      run.disabled = false;
      stop.disabled = true;
      running = null;
    };
    running = runCell(path, ref, {
      started: (pid) => box.setAttribute("data-pid", String(pid)),
      output: (stream, text) => {
        const span = element("span", { class: stream }, text);
        output.append(span);
        output.scrollTop = output.scrollHeight;
      },
      exited: (code, ms, timedOut, cancelled) => {
        const how = cancelled ? "stopped" : timedOut ? "timed out" : `exit ${code}`;
        status.textContent = `${how} · ${formatDuration(ms)}`;
        status.className = `status ${code === 0 ? "ok" : "failed"}`;
        status.setAttribute("data-exit-code", String(code));
        finish();
      },
      failed: (message) => {
        status.textContent = message;
        status.className = "status failed";
        finish();
      },
    });
  });
  stop.addEventListener("click", () => running?.cancel());
  return box;
}

async function showNotebook(path: string): Promise<void> {
  where.textContent = path;
  for (const link of files.querySelectorAll("a")) {
    link.classList.toggle("open", link.getAttribute("data-path") === path);
  }
  notebook.replaceChildren(element("p", {}, "Loading…"));
  try {
    const nb = await openNotebook(path);
    let codeIndex = 0;
    notebook.replaceChildren(
      ...nb.cells.map((cell) => {
        if (cell.kind === "code") return codeCell(path, cell, codeIndex++);
        const box = element("div", { class: "cell markup" });
        box.innerHTML = renderMarkdown(cell.source); // safe: see markdown.ts
        return box;
      }),
    );
  } catch (error) {
    showError(notebook, error);
  }
}

function route(): void {
  const path = decodeURIComponent(location.hash.slice(1));
  if (path) void showNotebook(path);
  else notebook.replaceChildren(element("p", {}, "Open a runbook."));
}

window.addEventListener("hashchange", route);
void showFiles().then(route);
