import type { z } from "zod";
import { ApiError, fieldErrorsFromZod } from "../../shared/errors.ts";

/** Reads at most `limit` bytes of a body (a request's, or a response's), whether or not Content-Length was sent. */
export async function readLimited(req: Pick<Request, "headers" | "body">, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new ApiError("body_too_large", `The body is ${declared} bytes; the limit is ${limit} bytes.`);
  }
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new ApiError("body_too_large", `The body is over the limit of ${limit} bytes.`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Parses a JSON body: content type, size limit, syntax, then the schema, each with its own error
 * code. `precheck` sees the parsed JSON first and may throw a more helpful error than the schema's.
 */
export async function readJson<S extends z.ZodType>(req: Request, schema: S, limit: number, precheck?: (json: unknown) => void): Promise<z.infer<S>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new ApiError("unsupported_media_type", `Send the body as JSON with "Content-Type: application/json" (got "${type || "none"}").`);
  }
  const bytes = await readLimited(req, limit);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch (e) {
    const detail = e instanceof SyntaxError ? e.message : "the body is not valid UTF-8";
    throw new ApiError("invalid_json", `The body is not valid JSON: ${detail}.`);
  }
  precheck?.(json);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError("invalid_body", "The body does not match the expected shape; see details.", fieldErrorsFromZod(parsed.error));
  }
  return parsed.data;
}
