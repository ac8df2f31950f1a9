// Interactive cells in a real terminal (xterm.js): keystrokes go to the cell's PTY, its
// output is written as it comes, and the terminal's size follows the page.
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";

export interface TerminalView {
  terminal: Terminal;
  fit(): { rows: number; cols: number };
  dispose(): void;
}

export function openTerminal(parent: HTMLElement): TerminalView {
  const terminal = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontFamily: "ui-monospace, monospace",
    fontSize: 13,
    rows: 12,
    scrollback: 5000,
  });
  const fitter = new FitAddon();
  terminal.loadAddon(fitter);
  terminal.open(parent);
  return {
    terminal,
    fit() {
      try {
        fitter.fit();
      } catch {
        /* not laid out yet: keep the size it has */
      }
      return { rows: terminal.rows, cols: terminal.cols };
    },
    dispose() {
      terminal.dispose();
    },
  };
}
