/** Why a ComfyUI call failed, as a stable code the job layer maps to a `fail` message. */
export type ComfyErrorCode =
  /** Connection refused/reset, timeout, socket gone: try again later or elsewhere. */
  | "comfyui_unavailable"
  /** `POST /prompt` answered 400: the graph itself is wrong. */
  | "invalid_prompt"
  /** Any other unexpected status or body. */
  | "comfyui_error";

export class ComfyError extends Error {
  override readonly name = "ComfyError";
  readonly code: ComfyErrorCode;
  readonly status: number | undefined;
  readonly details: unknown;

  constructor(code: ComfyErrorCode, message: string, opts: { status?: number; details?: unknown; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.details = opts.details;
  }
}

export function isComfyError(e: unknown): e is ComfyError {
  return e instanceof ComfyError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "ComfyError");
}
