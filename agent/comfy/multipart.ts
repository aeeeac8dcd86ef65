import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";

export type MultipartBody = { body: Readable; headers: { "content-type": string; "content-length": string } };

/**
 * A `multipart/form-data` body with one file part and plain text fields, streamed from
 * the Blob (a file from `openAsBlob` is never read whole into memory) with an exact length.
 */
export function multipartFile(field: string, file: Blob, filename: string, fields: Record<string, string>): MultipartBody {
  const boundary = `----comfy-agent-${randomUUID()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(field)}"; filename="${quoted(filename)}"\r\n` +
      `Content-Type: ${file.type || "application/octet-stream"}\r\n\r\n`,
  );
  let tail = "";
  for (const [name, value] of Object.entries(fields)) {
    tail += `\r\n--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${value}`;
  }
  const end = Buffer.from(`${tail}\r\n--${boundary}--\r\n`);
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield head;
    for await (const chunk of file.stream()) yield chunk;
    yield end;
  }
  return {
    body: Readable.from(parts(), { objectMode: false }),
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(head.length + file.size + end.length) },
  };
}

/** The escaping browsers (and undici's FormData) apply to names in Content-Disposition. */
function quoted(name: string): string {
  return name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
}
