// A cell's output as it streams: base64 chunks per stream, decoded as UTF-8 across
// chunk boundaries (a character may be split between two messages).
export type Stream = "stdout" | "stderr" | "pty";

export class OutputDecoder {
  private decoders = new Map<Stream, TextDecoder>();

  decode(stream: Stream, base64: string): string {
    let decoder = this.decoders.get(stream);
    if (decoder === undefined) {
      decoder = new TextDecoder("utf-8");
      this.decoders.set(stream, decoder);
    }
    return decoder.decode(fromBase64(base64), { stream: true });
  }

  flush(stream: Stream): string {
    return this.decoders.get(stream)?.decode() ?? "";
  }
}

export function fromBase64(data: string): Uint8Array {
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
