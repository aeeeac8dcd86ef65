import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { summarizeProfiles } from "./profile.ts";
import type { Profile } from "./result.ts";

/** Where sections put CPU profiles; null means "do not profile this one". */
export interface Profiling {
  /** A folder for the agent processes' `.cpuprofile` files of a scenario. */
  agentDir(scenario: string): string | null;
  /** A `.cpuprofile` file for the edge (Worker + Durable Object) of a section or scenario. */
  edgeFile(section: string): string | null;
}

export const NO_PROFILING: Profiling = { agentDir: () => null, edgeFile: () => null };

/** Profiles everything under `root` and remembers what it handed out, to summarize afterwards. */
export function profilingUnder(root: string): Profiling & { summaries(): Profile[] } {
  const handed: { process: Profile["process"]; scenario: string; dir: string }[] = [];
  const dir = (process: Profile["process"], scenario: string): string => {
    const d = join(root, process, scenario);
    mkdirSync(d, { recursive: true });
    handed.push({ process, scenario, dir: d });
    return d;
  };
  return {
    agentDir: (scenario) => dir("agent", scenario),
    edgeFile: (section) => join(dir("edge", section), "edge.cpuprofile"),
    summaries: () => handed.map((h) => summarizeProfiles(h.process, h.scenario, h.dir)).filter((p): p is Profile => p !== null),
  };
}
