/** Stable codes a CLI failure carries, and the process exit code each maps to (sysexits.h). */
export const EXIT_CODES = {
  usage: 64,
  config: 78,
  unavailable: 69,
  internal: 70,
} as const;
export type CLIErrorCode = keyof typeof EXIT_CODES;

/** The one error type the entry point turns into a message and an exit code. */
export class CLIError extends Error {
  override readonly name = "CLIError";
  readonly code: CLIErrorCode;

  constructor(message: string, code: CLIErrorCode) {
    super(message);
    this.code = code;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function isCLIError(e: unknown): e is CLIError {
  return e instanceof CLIError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "CLIError");
}
