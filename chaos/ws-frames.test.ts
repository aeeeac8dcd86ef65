import { describe, expect, it } from "vitest";
import { WsFrameReader } from "./ws-frames.ts";

/** One RFC 6455 frame, masked as a client sends it or plain as a server does. */
function frame(payload: Buffer, opts: { opcode?: number; fin?: boolean; mask?: boolean } = {}): Buffer {
  const { opcode = 1, fin = true, mask = false } = opts;
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65536 ? Buffer.from([0, 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([0, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  head[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([head, payload]);
  head[1]! |= 0x80;
  const key = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, body]);
}

const PREAMBLE = Buffer.from("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");

describe("WsFrameReader", () => {
  it("reads text messages after the upgrade preamble, masked or not, whatever the chunking", () => {
    const got: string[] = [];
    const reader = new WsFrameReader((t) => got.push(t));
    const big = "x".repeat(70_000);
    const bytes = Buffer.concat([PREAMBLE, frame(Buffer.from('{"type":"ack"}')), frame(Buffer.from("héllo"), { mask: true }), frame(Buffer.from(big)), frame(Buffer.from("m".repeat(300)), { mask: true })]);
    for (let i = 0; i < bytes.length; i += 7) reader.push(bytes.subarray(i, i + 7));
    expect(got).toEqual(['{"type":"ack"}', "héllo", big, "m".repeat(300)]);
  });

  it("joins fragmented messages and skips control and binary frames", () => {
    const got: string[] = [];
    const reader = new WsFrameReader((t) => got.push(t));
    reader.push(PREAMBLE);
    reader.push(frame(Buffer.from("hel"), { fin: false }));
    reader.push(frame(Buffer.from("ping"), { opcode: 9 }));
    reader.push(frame(Buffer.from("lo"), { opcode: 0 }));
    reader.push(frame(Buffer.from([1, 2, 3]), { opcode: 2 }));
    reader.push(frame(Buffer.alloc(0), { opcode: 8 }));
    expect(got).toEqual(["hello"]);
  });
});
