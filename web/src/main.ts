// Cairn's web notebook: the runbooks of the served directory, each opened as a notebook.
// Code cells are edited in CodeMirror and run with their output streaming in (an
// interactive cell in a terminal); Markdown cells render safely and edit as text.
// Ctrl/Cmd+S saves through the server's lossless serializer; Shift+Enter runs a cell and
// moves on; Esc leaves an editor.
import "./style.css";
import { ApiError, lastOutputs, listFiles, openNotebook, saveNotebook, type Cell } from "./api";
import { createEditor } from "./editor";
import { renderMarkdown } from "./markdown";
import { formatDuration } from "./output";
import { OutputView } from "./outputview";
import { actionsPanel, askPanel, debugPanel } from "./panels";
import { runCell, type Running } from "./run";
import { element } from "./dom";
import { accept, reject, suggestAfter, type Suggestion } from "./suggest";
import { openTerminal, type TerminalView } from "./terminal";

const files = document.getElementById("files") as HTMLElement;
const notebook = document.getElementById("notebook") as HTMLElement;
const where = document.getElementById("where") as HTMLElement;

interface Open {
  path: string;
  etag: string;
  cells: Cell[];
  edits: Map<number, string>; // cell index → unsaved source
  runners: (() => void)[]; // code cells' run, in order
}

let current: Open | null = null;

function showError(target: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  target.replaceChildren(element("p", { class: "error" }, message));
}

function setDirty(): void {
  const dirty = current !== null && current.edits.size > 0;
  where.textContent = current ? `${current.path}${dirty ? " — unsaved (Ctrl+S)" : ""}` : "";
  document.body.classList.toggle("dirty", dirty);
}

async function showFiles(): Promise<void> {
  try {
    const { files: paths } = await listFiles();
    files.replaceChildren(
      ...paths.map((path) =>
        element("a", { href: `#${encodeURIComponent(path)}`, "data-path": path }, path),
      ),
    );
    if (paths.length === 0) files.replaceChildren(element("p", {}, "No runbooks here."));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) location.assign("/");
    showError(files, error);
  }
}

function codeCell(open: Open, cell: Cell, index: number, codeIndex: number): HTMLElement {
  const ref = cell.id ?? cell.name ?? String(codeIndex);
  const box = element("div", {
    class: "cell code",
    "data-cell": ref,
    "data-index": String(index),
    tabindex: "0",
  });
  const bar = element("div", { class: "bar" });
  bar.append(element("span", { class: "name" }, cell.name ?? `cell ${codeIndex + 1}`));
  bar.append(element("span", { class: "language" }, cell.language ?? "sh"));
  if (cell.interactive) bar.append(element("span", { class: "note" }, "interactive"));
  const run = element("button", { class: "run", type: "button", title: "Shift+Enter" }, "Run");
  const stop = element("button", { class: "stop", type: "button", disabled: "" }, "Stop");
  const last = element("button", { class: "last", type: "button", title: "What it printed when it last ran" }, "Last output");
  const status = element("span", { class: "status" });
  bar.append(run, stop, last, status);
  const editorBox = element("div", { class: "source" });
  const output = element("pre", { class: "output" });
  const view = new OutputView(output);
  const term = element("div", { class: "terminal" });
  box.append(bar, editorBox, output, term);

  let running: Running | null = null;
  let terminal: TerminalView | null = null;
  const start = () => {
    if (running !== null) return;
    if (open.edits.has(index)) {
      status.textContent = "save first (Ctrl+S): the server runs the file as saved";
      status.className = "status failed";
      return;
    }
    view.clear();
    status.textContent = "running…";
    status.className = "status";
    run.disabled = true;
    stop.disabled = false;
    const interactive = Boolean(cell.interactive);
    let size = { rows: 12, cols: 80 };
    if (interactive) {
      terminal?.dispose();
      term.replaceChildren();
      terminal = openTerminal(term);
      size = terminal.fit();
    }
    const finish = () => {
      run.disabled = false;
      stop.disabled = true;
      running = null;
    };
    running = runCell(
      open.path,
      ref,
      {
        started: (pid) => box.setAttribute("data-pid", String(pid)),
        output: (stream, text, bytes) => {
          if (stream === "pty" && terminal !== null) {
            terminal.terminal.write(bytes);
            return;
          }
          view.push(stream, text);
        },
        exited: (code, ms, timedOut, cancelled) => {
          view.paint();
          const how = cancelled ? "stopped" : timedOut ? "timed out" : `exit ${code}`;
          status.textContent = `${how} · ${formatDuration(ms)}`;
          status.className = `status ${code === 0 && !cancelled ? "ok" : "failed"}`;
          status.setAttribute("data-exit-code", String(code));
          finish();
          if (!cancelled) void offer(open, box, ref, index);
        },
        failed: (message) => {
          status.textContent = message;
          status.className = "status failed";
          finish();
        },
      },
      { interactive, ...size },
    );
    if (terminal !== null) {
      const active = running;
      terminal.terminal.onData((data) => active.input(data));
      terminal.terminal.onResize(({ rows, cols }) => active.resize(rows, cols));
      terminal.terminal.focus();
    }
  };
  open.runners.push(start);
  createEditor(editorBox, cell.source, cell.language, {
    changed: (source) => {
      if (source === cell.source) open.edits.delete(index);
      else open.edits.set(index, source);
      setDirty();
    },
    run: () => {
      start();
      focusNext(box);
    },
    leave: () => box.focus(), // Esc: back to command mode on this cell
  });
  run.addEventListener("click", start);
  box.addEventListener("keydown", (event) => {
    // command mode (the cell itself focused): Enter edits, Shift+Enter runs
    if (event.target !== box || event.key !== "Enter") return;
    event.preventDefault();
    if (event.shiftKey) start();
    else (box.querySelector(".cm-content") as HTMLElement | null)?.focus();
  });
  last.addEventListener("click", async () => {
    try {
      const runs = await lastOutputs(open.path);
      const found = runs.find((r) => (cell.id && r.known_id === cell.id) || (cell.name && r.known_name === cell.name));
      view.clear();
      if (found === undefined) {
        status.textContent = "not run yet";
        status.className = "status";
        return;
      }
      view.push("stdout", found.stdout ?? "");
      view.push("stderr", found.stderr ?? "");
      view.paint();
      status.textContent = `last run ${found.time.slice(0, 19).replace("T", " ")} · exit ${found.exit_code}`;
      status.className = `status ${found.exit_code === 0 ? "ok" : "failed"}`;
    } catch (error) {
      status.textContent = (error as Error).message;
      status.className = "status failed";
    }
  });
  stop.addEventListener("click", () => running?.cancel());
  return box;
}

async function offer(open: Open, box: HTMLElement, ref: string, index: number): Promise<void> {
  if (open.edits.size > 0 || current !== open) return; // accepting writes the file
  document.querySelector(".ghost")?.remove();
  const ghost = element("div", { class: "cell ghost", tabindex: "0", "aria-busy": "true" });
  ghost.append(element("p", { class: "hint" }, "Thinking of the next cell…"));
  box.after(ghost);
  let suggestion: Suggestion | null = null;
  try {
    suggestion = await suggestAfter(open.path, ref);
  } catch (error) {
    ghost.replaceChildren(element("p", { class: "hint error" }, String((error as Error).message)));
    return;
  }
  const code = suggestion?.cells.find((c) => c.kind === "code");
  if (suggestion === null || code === undefined || current !== open) {
    ghost.remove();
    return;
  }
  const chosen = suggestion;
  ghost.removeAttribute("aria-busy");
  ghost.setAttribute("data-trace", chosen.trace_id);
  const hint = `Suggested next cell (${Math.round(chosen.confidence * 100)}%): Tab accepts, Esc dismisses`;
  const take = element("button", { type: "button", class: "accept" }, "Accept");
  const drop = element("button", { type: "button", class: "dismiss" }, "Dismiss");
  const source = element("pre", { class: "source" });
  source.append(element("code", {}, code.source));
  ghost.replaceChildren(element("p", { class: "hint" }, hint), source, take, drop);
  const accepted = async () => {
    try {
      const saved = await accept(open.path, index + 1, chosen, code, open.etag);
      current = { ...open, etag: saved.etag, cells: saved.notebook.cells, edits: new Map() };
      render(current);
      (notebook.querySelector(`[data-cell="${code.id}"] .cm-content`) as HTMLElement | null)?.focus();
    } catch (error) {
      ghost.replaceChildren(element("p", { class: "hint error" }, (error as Error).message));
    }
  };
  const dismissed = () => {
    ghost.remove();
    void reject(chosen);
  };
  take.addEventListener("click", () => void accepted());
  drop.addEventListener("click", dismissed);
  ghost.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {
      event.preventDefault();
      void accepted();
    } else if (event.key === "Escape") {
      event.preventDefault();
      dismissed();
    }
  });
  // Tab and Esc act on the ghost once it has focus; someone typing keeps theirs.
  if (!(document.activeElement as HTMLElement | null)?.closest(".cm-editor")) ghost.focus();
}

function focusNext(box: HTMLElement): void {
  let next = box.nextElementSibling;
  while (next !== null && !next.classList.contains("code")) next = next.nextElementSibling;
  (next?.querySelector(".cm-content") as HTMLElement | null)?.focus();
}

function markupCell(open: Open, cell: Cell, index: number): HTMLElement {
  const box = element("div", { class: "cell markup", "data-index": String(index), tabindex: "0" });
  const show = () => {
    box.innerHTML = renderMarkdown(open.edits.get(index) ?? cell.source); // safe: markdown.ts
  };
  const edit = () => {
    if (box.classList.contains("editing")) return;
    box.classList.add("editing");
    box.replaceChildren();
    const view = createEditor(box, open.edits.get(index) ?? cell.source, "markdown", {
      changed: (source) => {
        if (source === cell.source) open.edits.delete(index);
        else open.edits.set(index, source);
        setDirty();
      },
      leave: () => {
        box.classList.remove("editing");
        view.destroy();
        show();
        box.focus();
      },
    });
    view.focus();
  };
  box.addEventListener("dblclick", edit);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === box) {
      event.preventDefault();
      edit();
    }
  });
  show();
  return box;
}

function render(open: Open): void {
  let codeIndex = 0;
  open.runners = [];
  notebook.replaceChildren(
    ...open.cells.map((cell, index) =>
      cell.kind === "code" ? codeCell(open, cell, index, codeIndex++) : markupCell(open, cell, index),
    ),
  );
  setDirty();
}

async function showNotebook(path: string): Promise<void> {
  for (const link of files.querySelectorAll("a")) {
    link.classList.toggle("open", link.getAttribute("data-path") === path);
  }
  notebook.replaceChildren(element("p", {}, "Loading…"));
  try {
    const loaded = await openNotebook(path);
    current = { path, etag: loaded.etag, cells: loaded.notebook.cells, edits: new Map(), runners: [] };
    render(current);
  } catch (error) {
    current = null;
    showError(notebook, error);
  }
}

function conflict(open: Open, message: string): void {
  document.getElementById("conflict")?.remove();
  const bar = element("div", { id: "conflict", role: "alert", class: "conflict" });
  bar.append(element("span", {}, message));
  const reload = element("button", { type: "button", class: "reload" }, "Reload (drop my edits)");
  const overwrite = element("button", { type: "button", class: "overwrite" }, "Overwrite");
  reload.addEventListener("click", () => {
    bar.remove();
    void showNotebook(open.path);
  });
  overwrite.addEventListener("click", () => {
    bar.remove();
    void save("*");
  });
  bar.append(reload, overwrite);
  notebook.prepend(bar);
}

async function save(ifMatch?: string): Promise<void> {
  const open = current;
  if (open === null || open.edits.size === 0) return;
  const edits = [...open.edits].map(([index, source]) => ({ index, source }));
  try {
    const saved = await saveNotebook(open.path, edits, ifMatch ?? open.etag);
    current = { path: open.path, etag: saved.etag, cells: saved.notebook.cells, edits: new Map(), runners: [] };
    render(current);
    where.textContent = `${open.path} — saved`;
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) conflict(open, error.message);
    else showError(where, error);
  }
}

document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "s") {
    event.preventDefault();
    void save();
  } else if (event.ctrlKey && event.key === " " && current !== null) {
    const box = (document.activeElement as HTMLElement | null)?.closest(".cell.code");
    const target = (box ?? notebook.querySelector(".cell.code:last-of-type")) as HTMLElement | null;
    if (target !== null) {
      event.preventDefault();
      const ref = target.getAttribute("data-cell") ?? "";
      void offer(current, target, ref, Number(target.getAttribute("data-index")));
    }
  }
});

window.addEventListener("beforeunload", (event) => {
  if (current !== null && current.edits.size > 0) event.preventDefault();
});

function route(): void {
  const path = decodeURIComponent(location.hash.slice(1));
  if (path) void showNotebook(path);
  else notebook.replaceChildren(element("p", {}, "Open a runbook."));
}

const panel = document.getElementById("panel") as HTMLElement;
for (const tab of document.querySelectorAll<HTMLButtonElement>("#tabs button")) {
  tab.addEventListener("click", () => {
    const name = tab.getAttribute("data-panel");
    for (const other of document.querySelectorAll("#tabs button")) other.classList.toggle("on", other === tab);
    notebook.hidden = name !== "notebook";
    panel.hidden = name === "notebook";
    if (name === "ask") askPanel(panel, () => current?.path ?? null);
    else if (name === "actions") void actionsPanel(panel);
    else if (name === "debug") void debugPanel(panel);
  });
}

window.addEventListener("hashchange", route);
void showFiles().then(route);
