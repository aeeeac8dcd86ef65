import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { verify } from "../auth/signing.ts";
import type { AppContext } from "../http/context.ts";
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

function objectHeaders(obj: R2Object): Headers {
  const h = new Headers();
  obj.writeHttpMetadata(h);
  h.set("etag", obj.httpEtag);
  h.set("accept-ranges", "bytes");
  h.set("cache-control", "private, max-age=300");
  return h;
}

/** Streams an object from R2 behind a signed link, with HEAD and single-range support. */
async function getFile(c: AppContext): Promise<Response> {
  const key = keyOf(c);
  await checkSignature(c, key);
  if (c.req.method === "HEAD") {
    const head = await c.env.FILES.head(key);
    if (!head) throw new ApiError("not_found", "This file no longer exists.");
    const h = objectHeaders(head);
    h.set("content-length", String(head.size));
    return new Response(null, { headers: h });
  }
  const rangeHeader = c.req.header("range");
  let obj: R2ObjectBody | R2Object | null;
  try {
    obj = await c.env.FILES.get(key, rangeHeader ? { range: c.req.raw.headers } : {});
  } catch {
    throw new ApiError("bad_request", `Unsupported Range "${rangeHeader}"; send one range like "bytes=0-1023".`);
  }
  if (!obj) throw new ApiError("not_found", "This file no longer exists.");
  const h = objectHeaders(obj);
  if (!("body" in obj)) return new Response(null, { status: 412, headers: h });
  const range = obj.range as { offset?: number; length?: number; suffix?: number } | undefined;
  if (rangeHeader && range) {
    const offset = range.offset ?? (range.suffix !== undefined ? obj.size - range.suffix : 0);
    const length = range.length ?? obj.size - offset;
    if (offset >= obj.size) {
      return new Response(null, { status: 416, headers: { "content-range": `bytes */${obj.size}` } });
    }
    h.set("content-range", `bytes ${offset}-${offset + length - 1}/${obj.size}`);
    h.set("content-length", String(length));
    return new Response(obj.body, { status: 206, headers: h });
  }
  h.set("content-length", String(obj.size));
  return new Response(obj.body, { headers: h });
}

export const fileRoutes = defineRoutes([
  {
    method: "GET", path: "/files/*", auth: "signed", tag: "files", query: { exp: "expiry (epoch s)", sig: "HMAC-SHA256 signature" },
    summary: "Download an output through its signed, expiring link (HEAD and Range supported).",
    responses: { 200: { description: "The file", contentType: "application/octet-stream" }, 206: { description: "A byte range" }, 403: { description: "Bad or expired signature", schema: ErrorBodySchema } },
    handler: getFile,
  },
]);
