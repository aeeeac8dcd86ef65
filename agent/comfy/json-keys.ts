export type KeyLimits = {
  /** Keys longer than this (in UTF-8 bytes) are skipped. */
  maxKeyBytes: number;
  /** At most this many keys are kept; the rest of the body is still read. */
  maxKeys: number;
};

/** The body is not one JSON object (or ends before it does). */
export class NotAJsonObject extends Error {
  override readonly name = "NotAJsonObject";
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The keys of a JSON object read from a byte stream, in order, without building the object: a
 * scanner that tracks nesting and strings and decodes only the top-level keys. ComfyUI's
 * `/object_info` is megabytes of JSON on a rig with many custom nodes; its keys are kilobytes.
 * It does not validate the JSON beyond that structure.
 *
 * @throws NotAJsonObject when the body is not a JSON object or ends before the object does; the
 * stream's own error when it fails
 * @example
 * const classes = await topLevelKeys(res.body, { maxKeyBytes: 1024, maxKeys: 20_000 });
 */
export async function topLevelKeys(body: AsyncIterable<Uint8Array>, limits: KeyLimits): Promise<string[]> {
  const keys: string[] = [];
  let depth = 0;
  let started = false;
  let inString = false;
  let escaped = false;
  let expectKey = false;
  // The key being read: its byte pieces (a key may span chunks), null when not reading one.
  let key: Uint8Array[] | null = null;
  let keyBytes = 0;

  const finishKey = (): void => {
    const pieces = key ?? [];
    key = null;
    if (keyBytes > limits.maxKeyBytes || keys.length >= limits.maxKeys) return;
    const raw = Buffer.concat(pieces).toString("utf8");
    keys.push(JSON.parse(`"${raw}"`) as string);
  };

  for await (const chunk of body) {
    let keyFrom = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) {
          inString = false;
          if (key) {
            if (keyBytes + (i - keyFrom) <= limits.maxKeyBytes) key.push(chunk.subarray(keyFrom, i));
            keyBytes += i - keyFrom;
            finishKey();
          }
        }
        continue;
      }
      if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
      if (depth === 0) {
        // Before the object only `{` may come, after it nothing.
        if (started || b !== OPEN_OBJECT) throw new NotAJsonObject(started ? "unexpected data after the JSON object" : "not a JSON object");
        started = true;
      }
      if (b === QUOTE) {
        inString = true;
        if (depth === 1 && expectKey) {
          expectKey = false;
          key = [];
          keyBytes = 0;
          keyFrom = i + 1;
        }
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        depth += 1;
        if (depth === 1) expectKey = true;
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        depth -= 1;
      } else if (b === COMMA && depth === 1) {
        expectKey = true;
      }
    }
    // A key that runs on into the next chunk: keep what this chunk holds of it.
    if (key && inString) {
      if (keyBytes + (chunk.length - keyFrom) <= limits.maxKeyBytes) key.push(chunk.slice(keyFrom));
      keyBytes += chunk.length - keyFrom;
    }
  }
  if (!started || depth !== 0 || inString) throw new NotAJsonObject("the JSON object ends early");
  return keys;
}
