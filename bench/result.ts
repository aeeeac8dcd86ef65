import { z } from "zod";

/** Milliseconds; see stats.ts `summarize`. */
export const LatencySchema = z.object({
  n: z.number().int().nonnegative(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  mean: z.number(),
  min: z.number(),
  max: z.number(),
});

export const MemorySchema = z.object({ rss_mb: z.number(), peak_mb: z.number() });

export const SubmitSectionSchema = z.object({
  sequential: LatencySchema.describe("POST /generate → 202, one request at a time, keep-alive"),
  concurrent: z.object({
    submitters: z.number().int(),
    requests: z.number().int(),
    seconds: z.number(),
    requests_per_s: z.number(),
    non_202: z.number().int(),
    latency: LatencySchema,
  }),
  edge_memory: MemorySchema.nullable(),
});

export const DispatchSectionSchema = z.object({
  protocol_client: LatencySchema.describe("202 received → job frame at an idle in-bench protocol agent"),
  protocol_client_from_post: LatencySchema.describe("POST sent → job frame (the whole submit-to-held path)"),
  protocol_problems: z.array(z.string()).describe("edge `error` frames or malformed frames the protocol agent got (first 20)"),
  edge_memory: MemorySchema.nullable(),
});

export const RealAgentSectionSchema = z.object({
  render_ms: z.number(),
  dispatch_to_sim: LatencySchema.describe("202 received → the sim receives POST /prompt from an idle real agent"),
  notify_events: LatencySchema.describe("sim execution end → SUCCESS with URLs on the events WebSocket"),
  notify_polling: LatencySchema.describe("sim execution end → SUCCESS seen polling GET /tasks/{id} every 50 ms"),
  events_late: z.number().int().describe("jobs whose events socket opened only after the result (left out)"),
  notify_breakdown: z
    .object({ end_to_view_ms: z.number().nullable(), view_to_seen_ms: z.number().nullable() })
    .describe("events path, medians: render end → the agent's GET /view (learning of the end, /queue, /history), then → the client sees SUCCESS (fetch, upload, complete, publish)"),
  agent_memory: MemorySchema.nullable(),
  sim_memory: MemorySchema.nullable(),
  edge_memory: MemorySchema.nullable(),
});

export const ScenarioSchema = z.object({
  agents: z.number().int(),
  prefetch: z.number().int(),
  render_ms: z.number(),
  step_ms: z.number(),
  steps: z.number().int(),
  jobs: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  capped: z.boolean().describe("the time cap ended the scenario before every job finished; figures cover those that did"),
  seconds: z.number().describe("first submit → every job finished at the edge (or the cap)"),
  jobs_per_s: z.number(),
  gpu_idle_fraction: z.number().describe("Σ gaps between consecutive executions / Σ spans (first start → last end), over all sims"),
  gpu_idle_max_fraction: z.number().describe("the worst single sim"),
  mean_gap_ms: z.number(),
  sim_idle_while_queued_ms: z.number().describe("the sims' own count: nothing executing while a prompt waited in the sim's queue"),
  gaps: z
    .object({ end_to_view_ms: z.number().nullable(), view_to_next_prompt_ms: z.number().nullable(), received_to_start_ms: z.number(), prefetched_share: z.number() })
    .describe("the first sim's gaps, from its request log (medians; see gap-breakdown.ts)"),
  cpu_ms_per_job: z
    .object({ agent: z.number(), sim: z.number(), edge: z.number(), bench: z.number() })
    .describe("CPU time (user + system, from /proc) per job: all agents, all sims, workerd, this harness"),
  agent_peak_mb: z.number(),
  sim_peak_mb: z.number(),
  edge_memory: MemorySchema.nullable(),
  error: z.string().nullable(),
});
export type Scenario = z.infer<typeof ScenarioSchema>;

export const ScaleSectionSchema = z.object({
  connections: z.object({
    agents: z.number().int(),
    connected: z.number().int(),
    connect_seconds: z.number(),
    dispatch: LatencySchema.describe("202 → job frame with every agent idle"),
    protocol_problems: z.array(z.string()),
    edge_memory: MemorySchema.nullable(),
  }),
  queued: z.object({
    depth: z.number().int(),
    fill_seconds: z.number(),
    fill_requests_per_s: z.number(),
    fill_latency: LatencySchema,
    submit_at_depth: LatencySchema,
    get_at_depth: LatencySchema,
    drain_agents: z.number().int(),
    drain_seconds: z.number(),
    drained: z.number().int(),
    drain_jobs_per_s: z.number(),
    protocol_problems: z.array(z.string()),
    edge_memory: MemorySchema.nullable(),
  }),
});

export const MemorySectionSchema = z.object({
  edge_workerd_peak_mb: z.number().describe("largest workerd VmHWM over every section's edge"),
  agent_peak_mb: z.number().describe("largest VmHWM of any agent process"),
  agent_median_peak_mb: z.number(),
  sim_peak_mb: z.number().describe("largest VmHWM of any sim (each a child process)"),
  bench_process_peak_mb: z.number().describe("this harness process (protocol agents, clients, Miniflare host)"),
});

export const ProfileSchema = z.object({
  /** Agent processes (node --cpu-prof) or the edge (the Worker and Durable Object in workerd, via its inspector). */
  process: z.enum(["agent", "edge"]),
  scenario: z.string(),
  files: z.array(z.string()),
  total_ms: z.number(),
  top: z.array(z.object({ function: z.string(), location: z.string(), self_ms: z.number(), self_pct: z.number() })),
  /** The project's own functions by inclusive time (themselves and everything they call). */
  inclusive: z.array(z.object({ function: z.string(), location: z.string(), total_ms: z.number(), total_pct: z.number() })),
  by_file: z.array(z.object({ file: z.string(), self_ms: z.number(), self_pct: z.number() })),
});
export type Profile = z.infer<typeof ProfileSchema>;

export const RunSchema = z.object({
  started_at: z.string(),
  seconds: z.number(),
  /** A section is null when `--only` left it out. */
  submit: SubmitSectionSchema.nullable(),
  dispatch: DispatchSectionSchema.nullable(),
  real_agent: RealAgentSectionSchema.nullable(),
  throughput: z.array(ScenarioSchema).nullable(),
  scale: ScaleSectionSchema.nullable(),
  memory: MemorySectionSchema,
  profiles: z.array(ProfileSchema),
  /** Sections or scenarios that failed, with why. */
  errors: z.array(z.string()),
});
export type BenchRun = z.infer<typeof RunSchema>;

export const ResultSchema = z.object({
  version: z.literal(1),
  mode: z.enum(["smoke", "quick", "full"]),
  started_at: z.string(),
  finished_at: z.string(),
  machine: z.object({
    cpus: z.number().int(),
    cpu_model: z.string(),
    load_average_start: z.array(z.number()),
    load_average_end: z.array(z.number()),
    total_memory_mb: z.number(),
    node: z.string(),
    platform: z.string(),
  }),
  options: z.record(z.string(), z.unknown()),
  notes: z.array(z.string()),
  runs: z.array(RunSchema).min(1),
  /** Element-wise median of the runs (what the table shows). */
  median: RunSchema,
});
export type BenchResult = z.infer<typeof ResultSchema>;
