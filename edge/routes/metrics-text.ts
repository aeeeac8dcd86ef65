import type { QueueMetrics } from "../queue/JobQueue.ts";
import { DISPATCH_BUCKETS_MS } from "../queue/store.ts";

const STATES = ["queued", "leased", "running", "succeeded", "failed", "cancelled"];

/** Renders per-pool queue metrics in the Prometheus text exposition format. */
export function renderMetrics(pools: QueueMetrics[]): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, rows: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) lines.push(`${name}${labels} ${v}`);
  };
  metric("comfy_edge_jobs", "gauge", "Jobs held by the queue, by state.", pools.flatMap((p) => STATES.map((s) => [`{pool="${p.pool}",state="${s}"}`, p.jobs_by_state[s] ?? 0] as [string, number])));
  metric("comfy_edge_queue_depth", "gauge", "Jobs waiting for an agent.", pools.map((p) => [`{pool="${p.pool}"}`, p.queue_depth]));
  metric("comfy_edge_agents_connected", "gauge", "Agents with an open lease connection.", pools.map((p) => [`{pool="${p.pool}"}`, p.agents_connected]));
  metric("comfy_edge_agents_busy", "gauge", "Connected agents holding at least one lease.", pools.map((p) => [`{pool="${p.pool}"}`, p.agents_busy]));
  metric("comfy_edge_jobs_submitted_total", "counter", "Jobs accepted.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.jobs_submitted ?? 0]));
  metric("comfy_edge_lease_expiries_total", "counter", "Leases that expired (agent died or was cut off).", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.lease_expiries ?? 0]));
  metric("comfy_edge_retries_total", "counter", "Attempts that failed retryably and went back to the queue.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.retries ?? 0]));
  metric("comfy_edge_agents_quarantined", "gauge", "Agents quarantined now (retryable failures in a row while others succeed).", pools.map((p) => [`{pool="${p.pool}"}`, p.agents_quarantined]));
  metric("comfy_edge_quarantines_total", "counter", "Times an agent was quarantined.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.quarantines ?? 0]));
  metric("comfy_edge_attempts_refunded_total", "counter", "Job attempts given back because they failed on a quarantined rig.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.attempts_refunded ?? 0]));
  metric("comfy_edge_silent_agents_total", "counter", "Agents closed for silence (no frame within 3 heartbeat periods).", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.silent_agents ?? 0]));
  metric("comfy_edge_run_timeouts_total", "counter", "Runs the edge failed for going past their workflow's timeout_s plus the grace.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.run_timeouts ?? 0]));
  metric("comfy_edge_unverified_completions_total", "counter", "Completions refused for naming no output or one never uploaded under the lease.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.unverified_completions ?? 0]));
  metric("comfy_edge_model_fetches_started_total", "counter", "Model fetches the edge asked an agent for (models on demand).", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.model_fetches_started ?? 0]));
  metric("comfy_edge_model_fetches_failed_total", "counter", "Model fetches that failed or timed out (MODEL_FETCH_TIMEOUT_S).", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.model_fetches_failed ?? 0]));
  metric("comfy_edge_jobs_model_unavailable_total", "counter", "Jobs failed with model_unavailable (their model could not be fetched).", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.jobs_model_unavailable ?? 0]));
  metric("comfy_edge_stale_messages_total", "counter", "Agent messages refused for a stale lease.", pools.map((p) => [`{pool="${p.pool}"}`, p.counters.stale_messages ?? 0]));
  lines.push("# HELP comfy_edge_dispatch_latency_seconds Time from enqueue to lease.", "# TYPE comfy_edge_dispatch_latency_seconds histogram");
  for (const p of pools) {
    let cumulative = 0;
    for (const b of DISPATCH_BUCKETS_MS) {
      cumulative += p.counters[`dispatch_bucket_${b}`] ?? 0;
      lines.push(`comfy_edge_dispatch_latency_seconds_bucket{pool="${p.pool}",le="${b / 1000}"} ${cumulative}`);
    }
    cumulative += p.counters.dispatch_bucket_inf ?? 0;
    lines.push(`comfy_edge_dispatch_latency_seconds_bucket{pool="${p.pool}",le="+Inf"} ${cumulative}`);
    lines.push(`comfy_edge_dispatch_latency_seconds_sum{pool="${p.pool}"} ${(p.counters.dispatch_sum_us ?? 0) / 1e6}`);
    lines.push(`comfy_edge_dispatch_latency_seconds_count{pool="${p.pool}"} ${p.counters.dispatch_count ?? 0}`);
  }
  return lines.join("\n") + "\n";
}
