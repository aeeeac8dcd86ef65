/**
 * Python semantics the sim must reproduce to answer exactly like ComfyUI: value conversions
 * (`int()`, `float()`, `str()`, `bool()`), `repr()` for error texts, and exceptions as values.
 */

/** A Python exception: `type` is ComfyUI's `full_type_name` (module-qualified unless builtin). */
export class PyError extends Error {
  override readonly name = "PyError";
  readonly type: string;
  /** `str(ex)`: what ComfyUI puts in `details` / `exception_message`. */
  readonly text: string;
  readonly traceback: string[];

  constructor(type: string, text: string, traceback: string[] = []) {
    super(`${type}: ${text}`);
    this.type = type;
    this.text = text;
    this.traceback = traceback;
  }
}

/** Python's type name of a JSON value, as `int() argument ... not 'NoneType'` prints it. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (Array.isArray(v)) return "list";
  return "dict";
}

/** `repr(float)`: 1 -> "1.0", 1e-5 -> "1e-05", 1e16 -> "1e+16". */
export function pyFloatStr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e16 || abs < 1e-4) {
    const [mantissa, exp = "0"] = x.toExponential().split("e");
    const sign = exp.startsWith("-") ? "-" : "+";
    const digits = exp.replace(/^[+-]/, "").padStart(2, "0");
    return `${mantissa}e${sign}${digits}`;
  }
  const s = String(x);
  return s.includes(".") ? s : `${s}.0`;
}

/** `str(int)`, keeping the one 64-bit bound ComfyUI uses everywhere exact. */
export function pyIntStr(x: number): string {
  if (x === 2 ** 64) return "18446744073709551615";
  return Number.isSafeInteger(x) ? String(x) : BigInt(x).toString();
}

function quote(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  const body = s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t");
  return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
}

/** `repr(value)` of a JSON value (JSON numbers with no fraction print as Python ints). */
export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return quote(v);
  if (typeof v === "number") return Number.isInteger(v) ? pyIntStr(v) : pyFloatStr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (typeof v === "object") {
    const parts = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${quote(k)}: ${pyRepr(x)}`);
    return `{${parts.join(", ")}}`;
  }
  return String(v);
}

/** `str(value)`: strings as they are, everything else as `repr`. */
export function pyStr(v: unknown): string {
  return typeof v === "string" ? v : pyRepr(v);
}

/** `int(value)` with Python's accepted inputs and error texts. */
export function pyInt(v: unknown): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") {
    if (Number.isNaN(v)) throw new PyError("ValueError", "cannot convert float NaN to integer");
    if (!Number.isFinite(v)) throw new PyError("OverflowError", "cannot convert float infinity to integer");
    return Math.trunc(v);
  }
  if (typeof v === "string") {
    const t = v.trim();
    if (/^[+-]?\d+(_\d+)*$/.test(t)) return Number(t.replace(/_/g, ""));
    throw new PyError("ValueError", `invalid literal for int() with base 10: ${pyRepr(v)}`);
  }
  throw new PyError("TypeError", `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(v)}'`);
}

/** `float(value)` with Python's accepted inputs and error texts. */
export function pyFloat(v: unknown): number {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim().toLowerCase().replace(/_/g, "");
    if (/^[+-]?(inf|infinity)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^[+-]?nan$/.test(t)) return Number.NaN;
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return Number(t);
    throw new PyError("ValueError", `could not convert string to float: ${pyRepr(v)}`);
  }
  throw new PyError("TypeError", `float() argument must be a string or a real number, not '${pyTypeName(v)}'`);
}

/** `bool(value)`: Python truthiness, so `bool("false")` is True, as in ComfyUI. */
export function pyBool(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

/** `seq[i]` on a tuple: negative indices count from the end; errors as Python raises them. */
export function pyIndex<T>(seq: readonly T[], i: unknown): T {
  if (typeof i !== "number" || !Number.isInteger(i)) {
    throw new PyError("TypeError", `tuple indices must be integers or slices, not ${pyTypeName(i)}`);
  }
  const at = i < 0 ? seq.length + i : i;
  if (at < 0 || at >= seq.length) throw new PyError("IndexError", "tuple index out of range");
  return seq[at] as T;
}

/** `d[key]` on a dict parsed from JSON (string keys): a miss raises KeyError(repr(key)). */
export function pyLookup<T>(dict: Record<string, T>, key: unknown): T {
  if (Array.isArray(key) || (typeof key === "object" && key !== null)) {
    throw new PyError("TypeError", `unhashable type: '${pyTypeName(key)}'`);
  }
  if (typeof key === "string" && Object.hasOwn(dict, key)) return dict[key] as T;
  throw new PyError("KeyError", pyRepr(key));
}
