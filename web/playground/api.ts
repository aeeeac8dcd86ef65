import type { ErrorBody } from "../../shared/errors.ts";
import { apiKey } from "./store.ts";

export type ApiProblem = ErrorBody["error"];
export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: ApiProblem };
/** A JSON body, or raw bytes (an image upload) with their content type. */
export type Payload = { json: unknown } | { bytes: Blob; contentType: string };

const isProblem = (v: unknown): v is ApiProblem =>
  typeof v === "object" && v !== null && typeof (v as { message?: unknown }).message === "string" && typeof (v as { code?: unknown }).code === "string";

/**
 * Calls the edge with the stored key. The edge's JSON is trusted to match its schemas (the
 * types come from shared/, the same zod schemas the edge answers with); errors become values.
 */
export async function api<T>(method: "GET" | "POST" | "DELETE", path: string, payload?: Payload): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey()}` };
  let body: BodyInit | undefined;
  if (payload && "json" in payload) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(payload.json);
  } else if (payload) {
    headers["content-type"] = payload.contentType;
    body = payload.bytes;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body }) });
  } catch (e) {
    return { ok: false, status: 0, error: { code: "network", message: `Could not reach the edge (${e instanceof Error ? e.message : String(e)}).` } };
  }
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok) return { ok: true, status: res.status, data: data as T };
  const error = (data as { error?: unknown } | null)?.error;
  return { ok: false, status: res.status, error: isProblem(error) ? error : { code: `http_${res.status}`, message: `The edge answered HTTP ${res.status}.` } };
}

export const isAuthProblem = (status: number): boolean => status === 401 || status === 403;
