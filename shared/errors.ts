import { z } from "zod";

/** One field-level problem: where it is, which rule it broke, and what to do about it. */
export const FieldErrorSchema = z.object({
  path: z.string().describe("Dotted path of the offending field, e.g. `params.steps`"),
  rule: z.string().describe("The rule that failed, e.g. `max`, `type`, `required`, `unknown`"),
  message: z.string().describe("What is wrong and how to fix it"),
});
export type FieldError = z.infer<typeof FieldErrorSchema>;

/** The one error body every 4xx/5xx carries. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string().describe("Stable machine-readable code, e.g. `invalid_params`"),
    message: z.string().describe("A sentence a person can act on"),
    details: z.array(FieldErrorSchema).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** Stable error codes and the HTTP status each maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  invalid_body: 400,
  invalid_params: 400,
  invalid_query: 400,
  unsupported_media_type: 415,
  body_too_large: 413,
  unauthorized: 401,
  forbidden: 403,
  raw_not_allowed: 403,
  invalid_signature: 403,
  link_expired: 403,
  not_found: 404,
  unknown_workflow: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_conflict: 409,
  not_cancellable: 409,
  gone: 410,
  range_not_satisfiable: 416,
  budget_exceeded: 422,
  image_too_large: 422,
  input_unavailable: 422,
  unknown_node: 422,
  upload_quota_exceeded: 429,
  rate_limited: 429,
  queue_full: 429,
  internal: 500,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * Codes a job's `error.code` takes for failures the edge itself decides (agents report others,
 * e.g. ComfyUI's). `timeout`: the run passed the workflow's `timeout_s` (retried at most
 * `retry_on_timeout` times); `no_outputs`: a completion named no output; `output_missing`: it
 * named an output this lease never uploaded. Both of the latter count as a failed attempt.
 */
export const JOB_ERROR = {
  timeout: "timeout",
  noOutputs: "no_outputs",
  outputMissing: "output_missing",
} as const;

/**
 * A domain error that crosses layers (and processes) as a value.
 * Checked by `name` as well as `instanceof`, since it may be rebuilt from JSON.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: ErrorCode;
  readonly details: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message: string, details?: FieldError[], headers?: Record<string, string>) {
    super(message);
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.details?.length ? { details: this.details } : {}) },
    };
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "ApiError");
}

/** Turns zod issues into field errors with a dotted path and a rule name. */
export function fieldErrorsFromZod(error: z.ZodError, prefix = ""): FieldError[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".") || "(body)";
    const rule = issue.code === "invalid_type" ? "type" : issue.code === "unrecognized_keys" ? "unknown" : issue.code;
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.join(", ");
      return { path: [path === "(body)" ? "" : path].filter(Boolean).join(".") || "(body)", rule, message: `unknown field(s): ${keys}` };
    }
    return { path, rule, message: issue.message };
  });
}
