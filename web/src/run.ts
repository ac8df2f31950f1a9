// Running a cell over the execute socket (see `cairn serve`'s API docs), its output
// handed to `sink` as it arrives.
import { OutputDecoder, type Stream } from "./output";

export interface RunSink {
  started(pid: number): void;
  output(stream: Stream, text: string): void;
  exited(exitCode: number, durationMs: number, timedOut: boolean, cancelled: boolean): void;
  failed(message: string): void;
}

export interface Running {
  cancel(): void;
}

export function runCell(path: string, cell: string, sink: RunSink): Running {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/execute`);
  const decoder = new OutputDecoder();
  let done = false;
  socket.onopen = () => socket.send(JSON.stringify({ path, cell, interactive: false }));
  socket.onmessage = (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as Record<string, unknown>;
    switch (message.type) {
      case "started":
        sink.started(message.pid as number);
        break;
      case "output": {
        const stream = message.stream as Stream;
        sink.output(stream, decoder.decode(stream, message.data as string));
        break;
      }
      case "exited":
        done = true;
        for (const stream of ["stdout", "stderr", "pty"] as Stream[]) {
          const rest = decoder.flush(stream);
          if (rest) sink.output(stream, rest);
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
    cancel() {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "cancel" }));
    },
  };
}
