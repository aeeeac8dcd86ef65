import { readdirSync, readFileSync } from "node:fs";

/** Resident memory of a process in KiB (VmRSS from /proc), or null when it is gone or unreadable. */
export function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Direct children of `ppid` whose command name (`/proc/<pid>/stat`) is `name`. */
export function childrenNamed(ppid: number, name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === ppid && comm === name) out.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

export interface MemorySeries {
  name: string;
  pid: number;
  /** [seconds since start, MiB]. */
  samples: [number, number][];
}

/** Samples VmRSS of named processes; a process that vanished simply gets no more samples. */
export class MemorySampler {
  readonly series: MemorySeries[] = [];
  #started = Date.now();

  /** Sample times count from now on. */
  restartClock(): void {
    this.#started = Date.now();
  }

  track(name: string, pid: number): void {
    if (!this.series.some((s) => s.pid === pid)) this.series.push({ name, pid, samples: [] });
  }

  sample(): void {
    const t = (Date.now() - this.#started) / 1000;
    for (const s of this.series) {
      const kb = rssKb(s.pid);
      if (kb !== null) s.samples.push([t, kb / 1024]);
    }
  }
}
