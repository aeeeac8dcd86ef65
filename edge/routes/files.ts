import { contentDisposition } from "../http/download-name.ts";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { verify } from "../auth/signing.ts";
import type { AppContext } from "../http/context.ts";
import { parseRange } from "../http/range.ts";
import { defineRoutes } from "../http/route.ts";

function keyOf(c: AppContext): string {
  try {
    return decodeURIComponent(new URL(c.req.url).pathname.slice("/files/".length));
  } catch {
    throw new ApiError("bad_request", "The file path has a malformed %-escape.");
  }
}

async function checkSignature(c: AppContext, key: string): Promise<void> {
  const v = await verify(c.get("config").SIGNING_KEY, "file", key, c.req.query("exp"), c.req.query("sig"));
  if (v === "expired") throw new ApiError("link_expired", "This download link has expired; read the task again for a fresh one.");
  if (v !== "ok") throw new ApiError("invalid_signature", "This download link is not valid (bad or missing signature).");
}

function objectHeaders(key: string, obj: R2Object): Headers {
  const h = new Headers();
  obj.writeHttpMetadata(h);
  h.set("etag", obj.httpEtag);
  h.set("accept-ranges", "bytes");
  h.set("cache-control", "private, max-age=300");
  h.set("content-disposition", contentDisposition(key, obj.httpMetadata?.contentType));
  return h;
}

/** Streams an object from R2 behind a signed link, with HEAD and single-range support (RFC 9110). */
async function getFile(c: AppContext): Promise<Response> {
  const key = keyOf(c);
  await checkSignature(c, key);
  const head = await c.env.FILES.head(key);
  if (!head) throw new ApiError("not_found", "This file no longer exists.");
  const h = objectHeaders(key, head);
  if (c.req.method === "HEAD") {
    h.set("content-length", String(head.size));
    return new Response(null, { headers: h });
  }
  const range = parseRange(c.req.header("range"), head.size);
  if (range.kind === "unsatisfiable") {
    throw new ApiError("range_not_satisfiable", `The file is ${head.size} bytes; the requested range starts past its end.`, undefined, {
      "content-range": `bytes */${head.size}`,
    });
  }
  // Only the version just measured: a replaced object fails the condition instead of mixing sizes.
  const onlyIf = { etagMatches: head.etag };
  const obj = await c.env.FILES.get(key, range.kind === "range" ? { range: { offset: range.offset, length: range.length }, onlyIf } : { onlyIf });
  if (!obj || !("body" in obj)) throw new ApiError("not_found", "This file no longer exists.");
  if (range.kind === "range") {
    h.set("content-range", `bytes ${range.offset}-${range.offset + range.length - 1}/${head.size}`);
    h.set("content-length", String(range.length));
    return new Response(obj.body, { status: 206, headers: h });
  }
  h.set("content-length", String(head.size));
  return new Response(obj.body, { headers: h });
}

export const fileRoutes = defineRoutes([
  {
    method: "GET", path: "/files/*", auth: "signed", tag: "files", query: { exp: "expiry (epoch s)", sig: "HMAC-SHA256 signature" },
    summary: "Download an output through its signed, expiring link (HEAD and Range supported).",
    responses: { 200: { description: "The file", contentType: "application/octet-stream" }, 206: { description: "A byte range" }, 416: { description: "Range starts past the end (Content-Range: bytes */size)", schema: ErrorBodySchema }, 403: { description: "Bad or expired signature", schema: ErrorBodySchema } },
    handler: getFile,
  },
]);
