/**
 * Follows a server's side of a WebSocket connection (the HTTP upgrade answer, then unmasked
 * frames) to know when the byte stream sits between two frames, where a relay may slip in
 * a frame of its own without corrupting the stream.
 */
export class ServerFrameBoundary {
  #inHeaders = true;
  #headerTail = "";
  #head: Buffer = Buffer.alloc(0);
  #payloadLeft = 0;

  get atBoundary(): boolean {
    return !this.#inHeaders && this.#head.length === 0 && this.#payloadLeft === 0;
  }

  feed(chunk: Buffer): void {
    let rest = chunk;
    if (this.#inHeaders) {
      const text = this.#headerTail + rest.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        this.#headerTail = text.slice(-3);
        return;
      }
      this.#inHeaders = false;
      rest = rest.subarray(rest.length - (text.length - end - 4));
    }
    while (rest.length > 0) {
      if (this.#payloadLeft > 0) {
        const n = Math.min(this.#payloadLeft, rest.length);
        this.#payloadLeft -= n;
        rest = rest.subarray(n);
        continue;
      }
      this.#head = Buffer.concat([this.#head, rest]);
      rest = Buffer.alloc(0);
      const parsed = frameHeader(this.#head);
      if (!parsed) return;
      const after = this.#head.subarray(parsed.headerBytes);
      this.#head = Buffer.alloc(0);
      this.#payloadLeft = parsed.payloadBytes;
      rest = after;
    }
  }
}

function frameHeader(b: Buffer): { headerBytes: number; payloadBytes: number } | null {
  if (b.length < 2) return null;
  const len7 = b[1]! & 0x7f;
  const masked = (b[1]! & 0x80) !== 0;
  const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const headerBytes = 2 + extra + (masked ? 4 : 0);
  if (b.length < headerBytes) return null;
  const payloadBytes = len7 === 126 ? b.readUInt16BE(2) : len7 === 127 ? Number(b.readBigUInt64BE(2)) : len7;
  return { headerBytes, payloadBytes };
}

/** One unmasked text frame, as a server sends it. */
export function serverTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65_536 ? Buffer.from([0x81, 126, n >> 8, n & 0xff]) : null;
  if (!head) throw new Error("test frames stay under 64 KiB");
  return Buffer.concat([head, payload]);
}
