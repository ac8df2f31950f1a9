// Running a cell over the execute socket (see `cairn serve`'s API docs), its output
// handed to `sink` as it arrives; an interactive cell also takes keystrokes and resizes.
import { OutputDecoder, fromBase64, type Stream } from "./output";

export interface RunSink {
  started(pid: number): void;
  output(stream: Stream, text: string, bytes: Uint8Array): void;
  exited(exitCode: number, durationMs: number, timedOut: boolean, cancelled: boolean): void;
  failed(message: string): void;
}

export interface Running {
  cancel(): void;
  input(data: string): void;
  resize(rows: number, cols: number): void;
}

export interface RunOptions {
  interactive?: boolean;
  rows?: number;
  cols?: number;
}

function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function runCell(path: string, cell: string, sink: RunSink, options: RunOptions = {}): Running {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/execute`);
  const decoder = new OutputDecoder();
  let done = false;
  const send = (message: object) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  socket.onopen = () =>
    socket.send(
      JSON.stringify({
        path,
        cell,
        interactive: options.interactive ?? false,
        ...(options.rows ? { rows: options.rows, cols: options.cols } : {}),
      }),
    );
  socket.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as Record<string, unknown>;
    switch (message.type) {
      case "started":
        sink.started(message.pid as number);
        break;
      case "output": {
        const stream = message.stream as Stream;
        const data = message.data as string;
        sink.output(stream, decoder.decode(stream, data), fromBase64(data));
        break;
      }
      case "exited":
        done = true;
        for (const stream of ["stdout", "stderr", "pty"] as Stream[]) {
          const rest = decoder.flush(stream);
          if (rest) sink.output(stream, rest, new Uint8Array());
        }
        sink.exited(
          message.exit_code as number,
          message.duration_ms as number,
          Boolean(message.timed_out),
          Boolean(message.cancelled),
        );
        break;
      case "error":
        done = true;
        sink.failed(String(message.message));
        break;
    }
  };
  socket.onclose = (event) => {
    if (!done) sink.failed(event.reason || `the connection closed (${event.code})`);
  };
  return {
    cancel: () => send({ type: "cancel" }),
    input: (data) => send({ type: "stdin", data: toBase64(data) }),
    resize: (rows, cols) => send({ type: "resize", rows, cols }),
  };
}
