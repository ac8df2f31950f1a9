// A cell's output in the page, however large: chunks are kept in memory and painted at
// most once a frame; past `limit` characters the page shows the head and a live tail,
// and "Show more" reveals the middle a page at a time, so a 50 MB output never freezes
// the tab.
import type { Stream } from "./output";

interface Chunk {
  stream: Stream;
  text: string;
}

export const LIMIT = 256 * 1024; // characters shown before head + tail
const HEAD = LIMIT / 2;
const TAIL = LIMIT / 2;
export const PAGE = 1024 * 1024; // characters "Show more" reveals

export class OutputView {
  private chunks: Chunk[] = [];
  private total = 0;
  private painted = 0; // chunks painted while everything fits
  private shown = 0; // characters of the head shown (past LIMIT)
  private frame = 0;
  private readonly head: HTMLElement;
  private readonly gap: HTMLElement;
  private readonly tail: HTMLElement;

  constructor(private readonly root: HTMLElement) {
    this.head = document.createElement("span");
    this.gap = document.createElement("div");
    this.gap.className = "gap";
    this.tail = document.createElement("span");
    root.replaceChildren(this.head, this.gap, this.tail);
    this.gap.hidden = true;
    root.hidden = true;
  }

  get length(): number {
    return this.total;
  }

  clear(): void {
    this.chunks = [];
    this.total = this.painted = this.shown = 0;
    this.head.replaceChildren();
    this.tail.replaceChildren();
    this.gap.hidden = true;
    this.root.hidden = true;
  }

  push(stream: Stream, text: string): void {
    if (!text) return;
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && last.stream === stream && this.chunks.length > this.painted) {
      last.text += text; // not painted yet: one span for the frame's output of a stream
    } else {
      this.chunks.push({ stream, text });
    }
    const first = this.total === 0;
    this.total += text.length;
    if (first) this.paint(); // the first output shows at once; the rest once a frame
    else if (this.frame === 0) this.frame = requestAnimationFrame(() => this.paint());
  }

  /** Paint what arrived since the last frame (also called at the end of a run). */
  paint(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.root.hidden = this.total === 0;
    if (this.total <= LIMIT) {
      for (; this.painted < this.chunks.length; this.painted++) {
        this.head.append(span(this.chunks[this.painted]));
      }
      this.root.scrollTop = this.root.scrollHeight;
      return;
    }
    if (this.shown === 0) {
      this.head.replaceChildren(); // what was painted in full gives way to head + tail
      this.reveal(HEAD);
    }
    this.paintTail();
    this.paintGap();
  }

  /** Show `count` more characters of the middle, after the head. */
  reveal(count: number): void {
    const pieces = this.slice(this.shown, this.shown + count);
    for (const piece of pieces) this.head.append(span(piece));
    this.shown += pieces.reduce((n, p) => n + p.text.length, 0);
    this.painted = this.chunks.length;
    this.paintTail();
    this.paintGap();
  }

  private paintTail(): void {
    const start = Math.max(this.shown, this.total - TAIL);
    this.tail.replaceChildren(...this.slice(start, this.total).map(span));
  }

  private paintGap(): void {
    const hidden = Math.max(0, this.total - TAIL - this.shown);
    this.gap.hidden = hidden === 0;
    if (hidden === 0) return;
    const more = document.createElement("button");
    more.type = "button";
    more.className = "more";
    more.textContent = `Show more (${formatSize(Math.min(PAGE, hidden))})`;
    more.addEventListener("click", () => this.reveal(PAGE));
    const all = document.createElement("button");
    all.type = "button";
    all.className = "all";
    all.textContent = "Show all";
    all.addEventListener("click", () => this.reveal(hidden));
    const note = document.createElement("span");
    note.textContent = `… ${formatSize(hidden)} not shown `;
    this.gap.replaceChildren(note, more, all);
  }

  /** The chunks' text between two character offsets. */
  private slice(from: number, to: number): Chunk[] {
    const out: Chunk[] = [];
    let at = 0;
    for (const chunk of this.chunks) {
      const end = at + chunk.text.length;
      if (end > from && at < to) {
        out.push({
          stream: chunk.stream,
          text: chunk.text.slice(Math.max(0, from - at), Math.min(chunk.text.length, to - at)),
        });
      }
      if (end >= to) break;
      at = end;
    }
    return out;
  }
}

function span(chunk: Chunk): HTMLElement {
  const node = document.createElement("span");
  node.className = chunk.stream;
  node.textContent = chunk.text;
  return node;
}

export function formatSize(chars: number): string {
  if (chars < 1024) return `${chars} B`;
  if (chars < 1024 * 1024) return `${(chars / 1024).toFixed(1)} KB`;
  return `${(chars / 1024 / 1024).toFixed(1)} MB`;
}
