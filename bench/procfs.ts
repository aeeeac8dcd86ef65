import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** Resident memory of a process from /proc/<pid>/status, in MiB: now (VmRSS) and peak (VmHWM). */
export interface ProcMemory {
  rss_mb: number;
  peak_mb: number;
}

const mib = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

export function procMemory(pid: number): ProcMemory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!rss || !hwm) return null;
    return { rss_mb: mib(Number(rss[1])), peak_mb: mib(Number(hwm[1])) };
  } catch {
    return null;
  }
}

/** Pids of the direct children of `ppid` whose command name is `comm` (e.g. Miniflare's `workerd`). */
export function childPids(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces or parens, so split at the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = stat.slice(stat.indexOf("(") + 1, close);
      const parent = Number(stat.slice(close + 2).split(" ")[1]);
      if (parent === ppid && name === comm) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Peak memory of this process's workerd children (the local edge runtime), the largest if several. */
export function workerdMemory(): ProcMemory | null {
  const all = workerdPids().map(procMemory).filter((m): m is ProcMemory => m !== null);
  if (all.length === 0) return null;
  return all.reduce((a, b) => (b.peak_mb > a.peak_mb ? b : a));
}

/** CPU time (user + system) a process has used so far, in ms; null once it is gone. */
export function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state(3) ppid(4) ... utime(14) stime(15).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS_PER_S;
  } catch {
    return null;
  }
}

/** The workerd process(es) this process started (Miniflare's edge runtime). */
export function workerdPids(): number[] {
  return childPids(process.pid, "workerd");
}
