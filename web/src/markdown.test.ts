import { describe, expect, it } from "vitest";
import { renderMarkdown } from "./markdown";
import { OutputDecoder, formatDuration } from "./output";

describe("renderMarkdown", () => {
  it("shows raw HTML as text, so a runbook's script never runs", () => {
    const html = renderMarkdown('Hi <script>alert(1)</script> <img src=x onerror="alert(2)">');
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;script&gt;");
  });

  it("drops javascript: links and opens others in a new tab without access", () => {
    const html = renderMarkdown("[bad](javascript:alert(1)) [good](https://example.org)");
    expect(html).not.toMatch(/href="javascript:/i); // left as plain text, not a link
    expect(html).toContain('href="https://example.org"');
    expect(html).toContain('rel="noopener noreferrer"');
  });
});

describe("OutputDecoder", () => {
  it("decodes a character split across two chunks", () => {
    const bytes = new TextEncoder().encode("é ok");
    const b64 = (part: Uint8Array) => btoa(String.fromCharCode(...part));
    const decoder = new OutputDecoder();
    const first = decoder.decode("stdout", b64(bytes.slice(0, 1)));
    const second = decoder.decode("stdout", b64(bytes.slice(1)));
    expect(first + second).toBe("é ok");
  });

  it("formats durations", () => {
    expect(formatDuration(12)).toBe("12 ms");
    expect(formatDuration(1500)).toBe("1.5 s");
  });
});

import { parseEvents } from "./suggest";

describe("parseEvents", () => {
  it("reads server-sent events with their names and JSON data", () => {
    const text = 'event: suggestion\ndata: {"trace_id":"t1"}\n\nevent: done\ndata: {"found":1}\n\n';
    expect(parseEvents(text)).toEqual([
      { event: "suggestion", data: { trace_id: "t1" } },
      { event: "done", data: { found: 1 } },
    ]);
  });
});
