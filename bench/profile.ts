import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { z } from "zod";
import { ROOT } from "../scripts/local/edge.ts";
import type { Profile } from "./result.ts";
import { round } from "./stats.ts";

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that self time needs. */
const CpuProfileSchema = z.object({
  nodes: z.array(z.object({
    id: z.number(),
    callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    children: z.array(z.number()).optional(),
  })),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

const bundles = new Map<string, { line: number; file: string }[]>();

/** esbuild marks each source file in a bundle with a `// path` line; the last one above `line` names it. */
function bundleSource(path: string, line: number): string | null {
  let marks = bundles.get(path);
  if (!marks) {
    marks = [];
    try {
      readFileSync(path, "utf8").split("\n").forEach((text, i) => {
        const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
        if (m) marks!.push({ line: i, file: m[1]! });
      });
    } catch {
      // Not readable: keep the bundle's own name.
    }
    bundles.set(path, marks);
  }
  let found: string | null = null;
  for (const m of marks) {
    if (m.line > line) break;
    found = m.file;
  }
  return found;
}

const frameFiles = new Map<string, string>();

/** The source file behind a frame: the bundled file for the edge's bundle, else the script itself. */
function frameFile(url: string, line: number): string {
  const key = `${url}:${line}`;
  let file = frameFiles.get(key);
  if (file === undefined) frameFiles.set(key, (file = resolveFrameFile(url, line)));
  return file;
}

function resolveFrameFile(url: string, line: number): string {
  if (url.endsWith(".wrangler/local/edge.mjs")) {
    const src = bundleSource(join(ROOT, ".wrangler/local/edge.mjs"), line);
    if (src) return shortLocation(src.startsWith("node_modules/") ? `/${src}` : join(ROOT, src));
  }
  return shortLocation(url);
}

/** `file:line`; a frame in the edge's bundle keeps the bundle's line, as the source file's is unknown. */
function frameLocation(url: string, file: string, line: number): string {
  if (!url) return file;
  return url.endsWith(".wrangler/local/edge.mjs") ? `${file} (edge.mjs:${line + 1})` : `${file}:${line + 1}`;
}

/** A script URL as a short, readable place: project-relative, or `pkg:<name>` for dependencies, or `node:<module>`. */
export function shortLocation(url: string): string {
  if (url === "") return "(native)";
  const path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dep) return `pkg:${dep[1]}`;
  if (path.startsWith("/")) return relative(ROOT, path);
  return path.startsWith("node:") ? path : `node:${path}`;
}

const isProjectFile = (url: string): boolean => (url.startsWith("file://") && !url.includes("/node_modules/")) || url.endsWith(".wrangler/local/edge.mjs");

/**
 * Self time by function and by file over every `.cpuprofile` in `dir` (all agents of one
 * scenario, or one edge). Idle time is left out of the percentages, so they say where the work
 * went. Frames in the edge's bundle are named by the source file esbuild bundled there.
 */
export function summarizeProfiles(process: Profile["process"], scenario: string, dir: string, topN = 15): Profile | null {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  } catch {
    return null;
  }
  if (files.length === 0) return null;
  const byFunction = new Map<string, { function: string; location: string; us: number }>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, { function: string; location: string; us: number }>();
  let total = 0;
  for (const f of files) {
    const p = CpuProfileSchema.parse(JSON.parse(readFileSync(join(dir, f), "utf8")));
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    p.samples.forEach((id, i) => {
      const frame = nodes.get(id);
      const us = p.timeDeltas[i + 1] ?? 0; // a sample lasts until the next one
      if (!frame || frame.functionName === "(idle)") return;
      total += us;
      const file = frameFile(frame.url, frame.lineNumber);
      const location = frameLocation(frame.url, file, frame.lineNumber);
      const key = `${frame.functionName}@${location}`;
      const entry = byFunction.get(key) ?? { function: frame.functionName || "(anonymous)", location, us: 0 };
      entry.us += us;
      byFunction.set(key, entry);
      byFile.set(file, (byFile.get(file) ?? 0) + us);
      // Inclusive time of the project's own functions: every distinct one on this sample's stack.
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const f = nodes.get(at);
        if (!f || !isProjectFile(f.url)) continue;
        const srcFile = frameFile(f.url, f.lineNumber);
        if (srcFile.startsWith("pkg:")) continue;
        const loc = frameLocation(f.url, srcFile, f.lineNumber);
        const k = `${f.functionName}@${loc}`;
        if (seen.has(k)) continue;
        seen.add(k);
        const e = inclusive.get(k) ?? { function: f.functionName || "(anonymous)", location: loc, us: 0 };
        e.us += us;
        inclusive.set(k, e);
      }
    });
  }
  const pct = (us: number): number => (total > 0 ? round((100 * us) / total, 1) : 0);
  return {
    process,
    scenario,
    files,
    total_ms: round(total / 1000, 1),
    top: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ function: e.function, location: e.location, self_ms: round(e.us / 1000, 1), self_pct: pct(e.us) })),
    inclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((e) => ({ function: e.function, location: e.location, total_ms: round(e.us / 1000, 1), total_pct: pct(e.us) })),
    by_file: [...byFile.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN).map(([file, us]) => ({ file, self_ms: round(us / 1000, 1), self_pct: pct(us) })),
  };
}
