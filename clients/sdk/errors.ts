import { ErrorBodySchema, type FieldError } from "../../shared/errors.ts";

/**
 * Codes the SDK raises itself, beside the server's codes (`invalid_params`, `unauthorized`, ...):
 * no response at all, a response that broke the API's schema, a wait that ran out of time or
 * was aborted, a task that has nothing to download, or an events feed that broke off.
 */
export const CLIENT_ERROR_CODES = ["network", "invalid_response", "timeout", "aborted", "no_result", "http_error", "feed_failed"] as const;

export interface ComfyEdgeErrorInit {
  /** The HTTP status, or null when no response came (network, timeout, aborted). */
  status?: number | null;
  details?: FieldError[];
  cause?: unknown;
}

/**
 * Every failure the SDK reports: the server's stable `code` and field `details` when the
 * server answered, a client-side code otherwise. Checked by `name` as well as `instanceof`,
 * since two copies of the SDK (or a structured clone) do not share the class.
 *
 * @example
 * try { await client.submit({ workflow_id: "flux_default", params: {} }) }
 * catch (e) { if (isComfyEdgeError(e) && e.code === "invalid_params") console.log(e.details) }
 */
export class ComfyEdgeError extends Error {
  override readonly name = "ComfyEdgeError";
  readonly code: string;
  readonly status: number | null;
  readonly details: FieldError[];

  constructor(code: string, message: string, init: ComfyEdgeErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.status = init.status ?? null;
    this.details = init.details ?? [];
  }

  /** True for a missing, invalid or under-privileged API key. */
  get isAuth(): boolean {
    return this.status === 401 || (this.status === 403 && this.code === "forbidden");
  }
}

export function isComfyEdgeError(e: unknown): e is ComfyEdgeError {
  return e instanceof ComfyEdgeError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "ComfyEdgeError");
}

/** Rebuilds the server's error body (`{error:{code,message,details}}`) as a typed error. */
export async function errorFromResponse(res: Response): Promise<ComfyEdgeError> {
  const text = await res.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const body = ErrorBodySchema.safeParse(json);
  if (body.success) {
    const { code, message, details } = body.data.error;
    return new ComfyEdgeError(code, message, { status: res.status, details: details ?? [] });
  }
  const snippet = text.trim().slice(0, 200);
  return new ComfyEdgeError("http_error", `HTTP ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ""}`, { status: res.status });
}
