/**
 * A mistake in the manifests, found when they load (never at request time).
 * The message reads `<file>: <key>: <reason>`, e.g.
 * `workflows.yaml: flux_default.parameters[3]: "stepz" is not defined in base.yaml`.
 * Checked by `name` as well as `instanceof`, since it may cross a bundle boundary.
 */
export class ManifestError extends Error {
  override readonly name = "ManifestError";
  readonly file: string;
  readonly key: string;
  readonly reason: string;

  constructor(file: string, key: string, reason: string) {
    super(`${file}: ${key}: ${reason}`);
    this.file = file;
    this.key = key;
    this.reason = reason;
  }
}

export function isManifestError(e: unknown): e is ManifestError {
  return e instanceof ManifestError || (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "ManifestError");
}

const BARE_SEGMENT = /^[A-Za-z0-9_-]+$/;

/** `["flux_default", "parameters", 3]` -> `flux_default.parameters[3]`; odd names are quoted. */
export function formatKey(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const text = String(segment);
      if (BARE_SEGMENT.test(text)) out += out === "" ? text : `.${text}`;
      else out += `[${JSON.stringify(text)}]`;
    }
  }
  return out || "(root)";
}
