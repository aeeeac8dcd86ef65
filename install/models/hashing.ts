import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { pipeline } from "node:stream/promises";

export async function feedFile(file: string, hash: Hash, signal?: AbortSignal): Promise<void> {
  await pipeline(createReadStream(file), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) hash.update(chunk);
  }, signal ? { signal } : {});
}

export async function sha256OfFile(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  await feedFile(file, hash, signal);
  return hash.digest("hex");
}
