import type { Readable } from "node:stream";

/** A body longer than readBytes' `limit`, with `past: "refuse"`. */
export class BodyTooLarge extends Error {
  override readonly name = "BodyTooLarge";
  readonly limit: number;

  constructor(limit: number) {
    super(`the body is longer than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * A body read to its end into one Buffer. Past `limit` bytes, "keep" keeps the whole chunks that
 * came first and reads the rest off (so the connection can be reused); "refuse" destroys the body
 * and rejects with BodyTooLarge. Plain `data`/`end` listeners: cheaper per request than undici's
 * `body.text()` or an async iterator under the agent's interpreter-only flags. With `idleMs`, a
 * body that sends nothing for that long is destroyed with an ETIMEDOUT error.
 */
export function readBytes(body: Readable, limit = Infinity, past: "keep" | "refuse" = "keep", idleMs?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const stalled = idleMs === undefined ? null : setTimeout(() => body.destroy(Object.assign(new Error(`the body stalled for ${idleMs} ms`), { code: "ETIMEDOUT" })), idleMs);
    const settle = <T>(done: (value: T) => void) => (value: T): void => {
      if (stalled) clearTimeout(stalled);
      done(value);
    };
    body.on("data", (chunk: Buffer) => {
      stalled?.refresh();
      if (kept + chunk.length > limit && past === "refuse") {
        body.destroy();
        settle(reject)(new BodyTooLarge(limit));
        return;
      }
      if (kept >= limit) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
    body.once("end", () => settle(resolve)(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, kept)));
    body.once("error", settle(reject));
    // After `end` (or a refusal), this is a no-op; before it, the body was cut off.
    body.once("close", () => settle(reject)(new Error("the reply closed before its end")));
  });
}

/** A reply body read to its end as UTF-8, keeping at most `keepBytes` of it (see readBytes' "keep"). */
export async function readText(body: Readable, keepBytes = Infinity): Promise<string> {
  return (await readBytes(body, keepBytes)).toString("utf8");
}
