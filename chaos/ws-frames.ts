/**
 * Reads the text messages out of one direction of a WebSocket connection's raw bytes:
 * skips the HTTP upgrade preamble, then parses RFC 6455 frames (masked or not, fragmented
 * or not). Used by the chaos proxy to watch the agent protocol without touching either end.
 */
export class WsFrameReader {
  #buffer: Buffer = Buffer.alloc(0);
  #inPreamble = true;
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  readonly #onText: (text: string) => void;

  constructor(onText: (text: string) => void) {
    this.#onText = onText;
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (this.#inPreamble) {
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#inPreamble = false;
    }
    while (this.#readFrame());
  }

  /** Parses one whole frame from the buffer; false when more bytes are needed. */
  #readFrame(): boolean {
    const b = this.#buffer;
    if (b.length < 2) return false;
    const fin = (b[0]! & 0x80) !== 0;
    const opcode = b[0]! & 0x0f;
    const masked = (b[1]! & 0x80) !== 0;
    let length = b[1]! & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return false;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return false;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    const maskAt = at;
    if (masked) at += 4;
    if (b.length < at + length) return false;
    const payload = Buffer.from(b.subarray(at, at + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[maskAt + (i % 4)]!;
    this.#buffer = b.subarray(at + length);
    this.#onFrame(fin, opcode, payload);
    return true;
  }

  #onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode >= 0x8) return; // close, ping, pong
    if (opcode !== 0) {
      this.#fragmentOpcode = opcode;
      this.#fragments = [];
    }
    this.#fragments.push(payload);
    if (!fin) return;
    if (this.#fragmentOpcode === 1) this.#onText(Buffer.concat(this.#fragments).toString("utf8"));
    this.#fragments = [];
  }
}
