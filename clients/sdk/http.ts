import type { z } from "zod";
import { fieldErrorsFromZod } from "../../shared/errors.ts";
import { ComfyEdgeError, errorFromResponse } from "./errors.ts";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface RequestOptions {
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** Calls that leave without a response become `network` errors; an aborted call becomes `aborted`. */
export function networkError(e: unknown, what: string): ComfyEdgeError {
  if (e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError")) {
    return new ComfyEdgeError("aborted", `${what} was aborted.`, { cause: e });
  }
  const why = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
  return new ComfyEdgeError("network", `${what} failed: ${why}. Is the URL right and the server up?`, { cause: e });
}

/** Parses a body with the API's own schema, so a drifted server fails loudly at the seam. */
export function parseWith<S extends z.ZodType>(schema: S, json: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new ComfyEdgeError("invalid_response", `${what} did not match the API schema (is the server a different version?).`, {
    details: fieldErrorsFromZod(parsed.error),
  });
}

/** The authenticated JSON half of the API: base URL, Bearer key, typed errors. */
export class Http {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch: FetchLike;

  constructor(baseUrl: string, apiKey: string, fetchImpl: FetchLike) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.apiKey = apiKey;
    this.fetch = fetchImpl;
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  /** Sends one request; a non-2xx answer throws the server's error, a 2xx body is checked by `schema`. */
  async json<S extends z.ZodType>(method: string, path: string, schema: S, opts: RequestOptions = {}): Promise<z.infer<S>> {
    return (await this.jsonWithStatus(method, path, () => schema, opts)).body;
  }

  /** As `json`, for answers whose schema depends on the 2xx status (`schemaFor(status)`). */
  async jsonWithStatus<S extends z.ZodType>(method: string, path: string, schemaFor: (status: number) => S, opts: RequestOptions = {}): Promise<{ status: number; body: z.infer<S> }> {
    const what = `${method} ${path}`;
    let res: Response;
    try {
      res = await this.fetch(this.url(path), {
        method,
        headers: { accept: "application/json", ...this.authHeaders(), ...opts.headers },
        ...(opts.body !== undefined ? { body: opts.body } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    } catch (e) {
      throw networkError(e, what);
    }
    if (!res.ok) throw await errorFromResponse(res);
    const schema = schemaFor(res.status);
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      throw new ComfyEdgeError("invalid_response", `${what} answered ${res.status} with a body that is not JSON.`, { status: res.status, cause: e });
    }
    return { status: res.status, body: parseWith(schema, json, what) };
  }
}
