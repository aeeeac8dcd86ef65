import { describe, expect, it } from "vitest";
import { readSse, type SseMessage } from "./sse.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of readSse(streamOf(chunks))) out.push(m);
  return out;
}

describe("readSse", () => {
  it("reads events split anywhere across chunks, with LF, CRLF and CR line ends", async () => {
    const text = 'retry: 1000\nevent: state\ndata: {"a":1}\n\r\nevent: progress\r\ndata: {"b":2}\r\n\r\n: comment\rdata: x\r\r';
    const expected = [
      { event: "state", data: '{"a":1}' },
      { event: "progress", data: '{"b":2}' },
      { event: "message", data: "x" },
    ];
    expect(await all([text])).toEqual(expected);
    for (let cut = 1; cut < text.length; cut++) expect(await all([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
  });

  it("joins multi-line data and drops an event left unfinished at the end", async () => {
    expect(await all(["data: one\ndata:two\n\n", "data: dangling"])).toEqual([{ event: "message", data: "one\ntwo" }]);
  });

  it("decodes multi-byte characters split between chunks", async () => {
    const bytes = new TextEncoder().encode("data: ✔ fox\n\n");
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 7));
        c.enqueue(bytes.slice(7));
        c.close();
      },
    });
    const out: SseMessage[] = [];
    for await (const m of readSse(stream)) out.push(m);
    expect(out).toEqual([{ event: "message", data: "✔ fox" }]);
  });
});
