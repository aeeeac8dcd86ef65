import pc from "picocolors";
import type { TaskStatus } from "../../../shared/api.ts";
import { isRich, type Io } from "../io.ts";

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour on a terminal unless NO_COLOR is set; FORCE_COLOR forces it anywhere. */
export function colorsFor(io: Io): Colors {
  const forced = io.env.FORCE_COLOR !== undefined && io.env.FORCE_COLOR !== "0";
  return pc.createColors(forced || (isRich(io) && !("NO_COLOR" in io.env)));
}

export function statusText(status: TaskStatus, c: Colors): string {
  switch (status) {
    case "SUCCESS":
      return c.green(status);
    case "FAILURE":
      return c.red(status);
    case "CANCELLED":
      return c.yellow(status);
    case "PROGRESS":
      return c.cyan(status);
    default:
      return c.dim(status);
  }
}

/** 850 → "850ms", 12_300 → "12.3s", 125_000 → "2m05s". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
