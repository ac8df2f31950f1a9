// Cells in CodeMirror 6: shell, Python, SQL and Markdown highlighted.
import { indentWithTab } from "@codemirror/commands";
import { markdown } from "@codemirror/lang-markdown";
import { python } from "@codemirror/lang-python";
import { sql } from "@codemirror/lang-sql";
import { StreamLanguage } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { type Extension } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";

function language(name: string | null): Extension[] {
  switch ((name ?? "sh").toLowerCase()) {
    case "py":
    case "python":
    case "python3":
      return [python()];
    case "sql":
    case "psql":
    case "sqlite":
      return [sql()];
    case "markdown":
    case "md":
      return [markdown()];
    case "sh":
    case "bash":
    case "shell":
    case "zsh":
    case "console":
      return [StreamLanguage.define(shell)];
    default:
      return [];
  }
}

export interface EditorHooks {
  changed(source: string): void;
  run?(): void; // Shift+Enter
  leave?(): void; // Escape
}

export function createEditor(
  parent: HTMLElement,
  source: string,
  lang: string | null,
  hooks: EditorHooks,
): EditorView {
  const keys = keymap.of([
    {
      key: "Shift-Enter",
      run: () => {
        hooks.run?.();
        return hooks.run !== undefined;
      },
    },
    {
      key: "Escape",
      run: (view) => {
        view.contentDOM.blur();
        hooks.leave?.();
        return true;
      },
    },
    indentWithTab,
  ]);
  return new EditorView({
    doc: source,
    parent,
    extensions: [
      keys, // before basicSetup: Shift+Enter runs rather than inserting a line
      basicSetup,
      ...language(lang),
      EditorView.lineWrapping,
      EditorView.updateListener.of((update) => {
        if (update.docChanged) hooks.changed(update.state.doc.toString());
      }),
    ],
  });
}
