import Table from "cli-table3";
import type { BenchResult, BenchRun, Scenario } from "./result.ts";

/** No rule between rows: the tables stay readable in a terminal and in a log. */
const COMPACT = { chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" }, style: { head: [], border: [], "padding-left": 1, "padding-right": 1 } };

type Row = { figure: string; original: string; ours: number | null; unit: string; target?: { text: string; met: (v: number) => boolean } };

const fmt = (v: number | null | undefined, unit: string): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (unit === "%") return `${(v * 100).toFixed(2)} %`;
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${unit}`.trim();
};

const find = (run: BenchRun, agents: number, prefetch: number, renderMs: number): Scenario | undefined =>
  run.throughput?.find((s) => s.agents === agents && s.prefetch === prefetch && s.render_ms === renderMs && s.error === null);

/** The headline rows: each figure of the original service beside ours and the target. */
export function headlineRows(run: BenchRun): Row[] {
  const rows: Row[] = [];
  const max = (limit: number, unit: string) => ({ text: `≤ ${fmt(limit, unit)}`, met: (v: number) => v <= limit });
  const min = (limit: number, unit: string) => ({ text: `≥ ${fmt(limit, unit)}`, met: (v: number) => v >= limit });
  const below = (limit: number) => ({ text: `< ${fmt(limit, "%")}`, met: (v: number) => v < limit });
  const s = run.submit;
  rows.push({ figure: "submit POST → 202, sequential, p50", original: "1.0–1.2 ms", ours: s?.sequential.p50 ?? null, unit: "ms", target: max(1.2, "ms") });
  rows.push({ figure: "  p95", original: "—", ours: s?.sequential.p95 ?? null, unit: "ms" });
  rows.push({ figure: "  p99", original: "—", ours: s?.sequential.p99 ?? null, unit: "ms" });
  rows.push({ figure: `submit throughput, ${s?.concurrent.submitters ?? 16} concurrent`, original: "≈ 1,100 req/s", ours: s?.concurrent.requests_per_s ?? null, unit: "req/s", target: min(2200, "req/s") });
  const d = run.dispatch;
  rows.push({ figure: "dispatch 202 → agent holds job (protocol agent), p50", original: "≈ 2.8 ms*", ours: d?.protocol_client.p50 ?? null, unit: "ms", target: max(1, "ms") });
  rows.push({ figure: "  p99", original: "—", ours: d?.protocol_client.p99 ?? null, unit: "ms" });
  rows.push({ figure: "dispatch POST sent → agent holds job, p50", original: "—", ours: d?.protocol_client_from_post.p50 ?? null, unit: "ms" });
  const r = run.real_agent;
  rows.push({ figure: "dispatch 202 → sim gets POST /prompt (real agent), p50", original: "≈ 2.8 ms", ours: r?.dispatch_to_sim.p50 ?? null, unit: "ms" });
  rows.push({ figure: "  p99", original: "—", ours: r?.dispatch_to_sim.p99 ?? null, unit: "ms" });
  rows.push({ figure: "notify render end → SUCCESS, events WebSocket, p50", original: "≈ 518 ms (polling)", ours: r?.notify_events.p50 ?? null, unit: "ms", target: max(10, "ms") });
  rows.push({ figure: "  p99", original: "—", ours: r?.notify_events.p99 ?? null, unit: "ms" });
  rows.push({ figure: "  of which render end → agent's GET /view, p50", original: "—", ours: r?.notify_breakdown.end_to_view_ms ?? null, unit: "ms" });
  rows.push({ figure: "  of which GET /view → client sees SUCCESS, p50", original: "—", ours: r?.notify_breakdown.view_to_seen_ms ?? null, unit: "ms" });
  rows.push({ figure: "notify, polling GET every 50 ms, p50", original: "≈ 518 ms", ours: r?.notify_polling.p50 ?? null, unit: "ms" });
  for (const p of [0, 1]) {
    rows.push({ figure: `jobs/s, 1 agent, 0 ms renders, prefetch ${p}`, original: "1.9 (84 w/o sleep)", ours: find(run, 1, p, 0)?.jobs_per_s ?? null, unit: "jobs/s", target: min(150, "jobs/s") });
  }
  for (const p of [0, 1]) rows.push({ figure: `jobs/s, 2 agents, 0 ms renders, prefetch ${p}`, original: "115 w/o sleep", ours: find(run, 2, p, 0)?.jobs_per_s ?? null, unit: "jobs/s" });
  for (const p of [0, 1]) rows.push({ figure: `jobs/s, 8 agents, 0 ms renders, prefetch ${p}`, original: "—", ours: find(run, 8, p, 0)?.jobs_per_s ?? null, unit: "jobs/s" });
  rows.push({ figure: "GPU idle, 1 agent, 100 ms renders, prefetch 0", original: "≈ 83 % (7.9 % w/o sleep)", ours: find(run, 1, 0, 100)?.gpu_idle_fraction ?? null, unit: "%" });
  for (const n of [1, 2, 8]) {
    rows.push({ figure: `GPU idle, ${n} agent(s), 100 ms renders, prefetch 1`, original: n === 1 ? "≈ 83 % (7.9 % w/o sleep)" : "—", ours: find(run, n, 1, 100)?.gpu_idle_fraction ?? null, unit: "%", target: below(0.02) });
  }
  for (const n of [1, 2, 8]) {
    rows.push({ figure: `GPU idle, ${n} agent(s), 1 s renders, prefetch 1`, original: "—", ours: find(run, n, 1, 1000)?.gpu_idle_fraction ?? null, unit: "%", target: below(0.01) });
  }
  const m = run.memory;
  rows.push({ figure: "memory: edge (workerd) peak RSS", original: "API 52 + Redis 14 MiB", ours: m.edge_workerd_peak_mb || null, unit: "MiB" });
  rows.push({ figure: "memory: agent process peak RSS (largest)", original: "Celery worker 99 MiB", ours: m.agent_peak_mb || null, unit: "MiB", target: max(80, "MiB") });
  rows.push({ figure: "memory: sim process peak RSS", original: "—", ours: m.sim_peak_mb || null, unit: "MiB" });
  const sc = run.scale;
  rows.push({ figure: `scale: ${sc?.connections.agents ?? 1000} agent sockets, dispatch p50`, original: "—", ours: sc?.connections.dispatch.p50 ?? null, unit: "ms" });
  rows.push({ figure: `scale: ${sc?.queued.depth ?? 10000} queued, submit p50`, original: "—", ours: sc?.queued.submit_at_depth.p50 ?? null, unit: "ms" });
  rows.push({ figure: `scale: ${sc?.queued.depth ?? 10000} queued, GET /tasks p50`, original: "—", ours: sc?.queued.get_at_depth.p50 ?? null, unit: "ms" });
  rows.push({ figure: `scale: drain by ${sc?.queued.drain_agents ?? 4} protocol agents`, original: "—", ours: sc?.queued.drain_jobs_per_s ?? null, unit: "jobs/s" });
  return rows;
}

export function headlineTable(result: BenchResult): string {
  const t = new Table({ head: ["figure", "original service", `comfy-edge (median of ${result.runs.length})`, "target", ""], ...COMPACT });
  for (const row of headlineRows(result.median)) {
    const verdict = row.target && row.ours !== null ? (row.target.met(row.ours) ? "met" : "MISSED") : "";
    t.push([row.figure, row.original, fmt(row.ours, row.unit), row.target?.text ?? "", verdict]);
  }
  return t.toString();
}

export function scenarioTable(run: BenchRun): string {
  const t = new Table({
    head: ["agents", "prefetch", "render", "jobs", "seconds", "jobs/s", "GPU idle", "worst sim", "mean gap", "end→view", "view→next", "prefetched", "CPU ms/job a/s/e/b", "agent RSS"],
    ...COMPACT,
  });
  for (const s of run.throughput ?? []) {
    if (s.error) t.push([s.agents, s.prefetch, `${s.render_ms} ms`, s.jobs, { colSpan: 10, content: `FAILED: ${s.error.split("\n")[0]!.slice(0, 80)}` }]);
    else t.push([s.agents, s.prefetch, `${s.render_ms} ms`, `${s.succeeded + s.failed}/${s.jobs}${s.capped ? " (cap)" : ""}`, s.seconds.toFixed(2), s.jobs_per_s.toFixed(1), fmt(s.gpu_idle_fraction, "%"), fmt(s.gpu_idle_max_fraction, "%"), fmt(s.mean_gap_ms, "ms"),
      fmt(s.gaps.end_to_view_ms, "ms"), fmt(s.gaps.view_to_next_prompt_ms, "ms"), `${Math.round(s.gaps.prefetched_share * 100)} %`,
      [s.cpu_ms_per_job.agent, s.cpu_ms_per_job.sim, s.cpu_ms_per_job.edge, s.cpu_ms_per_job.bench].map((x) => x.toFixed(1)).join(" / "), fmt(s.agent_peak_mb, "MiB")]);
  }
  return t.toString();
}

export function profileText(run: BenchRun, limit = 12, include: (scenario: string) => boolean = () => true): string {
  return run.profiles
    .filter((p) => include(p.scenario))
    .map((p) => {
      const lines = p.top.slice(0, limit).map((f) => `    ${f.self_pct.toFixed(1).padStart(5)} %  ${f.function}  ${f.location}`);
      const files = p.by_file.slice(0, 8).map((f) => `${f.file} ${f.self_pct.toFixed(1)} %`).join(", ");
      const own = p.inclusive.slice(0, limit).map((f) => `    ${f.total_pct.toFixed(1).padStart(5)} %  ${f.function}  ${f.location}`);
      return `  ${p.process} · ${p.scenario} (${p.files.length} profile(s), ${p.total_ms} ms busy)\n  self time:\n${lines.join("\n")}\n    by file: ${files}\n  inclusive time, project functions:\n${own.join("\n")}`;
    })
    .join("\n");
}
