import type { Readable } from "node:stream";

/**
 * A reply body read to its end as UTF-8, keeping at most `keepBytes` of it (the rest is read
 * off, so the connection can be reused). Plain `data`/`end` listeners: cheaper per request than
 * undici's `body.text()` or an async iterator under the agent's interpreter-only flags.
 */
export function readText(body: Readable, keepBytes = Infinity): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    body.on("data", (chunk: Buffer) => {
      if (kept >= keepBytes) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
    body.once("end", () => resolve((chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString("utf8")));
    body.once("error", reject);
    // After `end`, this is a no-op; before it, the body was cut off.
    body.once("close", () => reject(new Error("the reply closed before its end")));
  });
}
