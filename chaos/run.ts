import { randomBytes } from "node:crypto";
import type { TaskView } from "../shared/api.ts";
import { EdgeClient, type QueueGauges } from "./edge-client.ts";
import { startRestartableEdge, type RestartableEdge } from "./edge-host.ts";
import { Fleet, type FleetCounts } from "./fleet.ts";
import { GrayFaults, type GrayReport } from "./gray-run.ts";
import { ProtocolLedger } from "./ledger.ts";
import { ChaosMonkey } from "./monkey.ts";
import { seededRandom, sleep } from "./random.ts";
import { verifyRun, verifyWebhookEvents, type RunCounts } from "./verify.ts";

export interface ChaosOptions {
  jobs: number;
  agents: number;
  seed: number;
  /** The whole run stops by then; a job not terminal by then counts as lost. */
  deadlineMs: number;
  /** How many times the edge is restarted over persisted state (spread over the run). */
  edgeRestarts: number;
  errorRate: number;
  crashRate: number;
  hangRate: number;
  leaseTtlMs: number;
  maxAttempts: number;
  /** Most jobs submitted but not finished at once: submissions go on through the run (and its restarts). */
  backlog: number;
  /**
   * Gray faults too: a broken rig, a frozen agent (SIGSTOP), a half-open link, and webhooks
   * to a 15 s receiver and a dead one beside another owner's prompt one.
   */
  gray: boolean;
  /** Jittered pause between two monkey actions. */
  monkeyEveryMs: [number, number];
  /** Progress lines (each few seconds); silent when absent. */
  log?: (line: string) => void;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, "jobs" | "agents" | "deadlineMs"> = {
  seed: 1,
  edgeRestarts: 2,
  errorRate: 0.05,
  crashRate: 0.02,
  hangRate: 0.02,
  leaseTtlMs: 2000,
  maxAttempts: 3,
  backlog: 40,
  gray: true,
  monkeyEveryMs: [1000, 3000],
};

export interface ChaosReport {
  counts: RunCounts;
  violations: string[];
  submitted: number;
  /** Submissions that never got a 202 before the deadline. */
  unsubmitted: number;
  fleet: FleetCounts;
  edgeRestarts: number;
  /** The queue's own counters at the end (retries, lease expiries, stale messages). */
  edgeCounters: Record<string, number>;
  /** Edge `error` frames to agents, by code. */
  wireErrors: Record<string, number>;
  clientRetries: number;
  serverErrors: number;
  durationMs: number;
  timedOut: boolean;
  /** Wire histories of the jobs that failed for another cause than their workflow's own error (why retries ran out). */
  failureTraces: string[];
  /** What each gray fault touched and how those jobs ended; null when the run had none. */
  gray: GrayReport | null;
}

const terminalOf = (g: QueueGauges): number => (g.byState.succeeded ?? 0) + (g.byState.failed ?? 0) + (g.byState.cancelled ?? 0);
const activeOf = (g: QueueGauges): number => (g.byState.queued ?? 0) + (g.byState.leased ?? 0) + (g.byState.running ?? 0);

/** Reads every task's final view and the bucket, and checks them against what crossed the wire. */
async function collectAndVerify(client: EdgeClient, edge: RestartableEdge, taskIds: string[], ledger: ProtocolLedger): Promise<ReturnType<typeof verifyRun> & { views: Map<string, TaskView | null> }> {
  const views = new Map<string, TaskView | null>();
  const queue = [...taskIds];
  const read = async () => {
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) views.set(id, await client.task(id, Date.now() + 60_000));
  };
  await Promise.all(Array.from({ length: 8 }, read));
  // Terminal-state cleanup of abandoned attempts runs just after the transition: give it a moment before calling anything an orphan.
  let result = verifyRun({ taskIds, views, objects: await edge.listObjects(), wire: ledger.jobs });
  for (let i = 0; i < 10 && result.counts.orphanObjects > 0; i++) {
    await sleep(500);
    result = verifyRun({ taskIds, views, objects: await edge.listObjects(), wire: ledger.jobs });
  }
  return { ...result, views };
}

/** Runs `jobs` through `agents` rigs under faults, agent kills, link cuts and edge restarts, then checks every guarantee. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + o.deadlineMs;
  const log = o.log ?? (() => {});
  const random = seededRandom(o.seed);
  const key = (role: string) => `chaos_${role}_${randomBytes(12).toString("base64url")}`;
  const keys = { client: key("client"), agent: key("agent"), admin: key("admin"), others: { "chaos-other-owner": key("other") } };
  const edge = await startRestartableEdge({
    keys,
    vars: {
      LEASE_TTL_MS: String(o.leaseTtlMs), MAX_ATTEMPTS: String(o.maxAttempts),
      RATE_LIMIT_PER_MIN: "1000000", MAX_QUEUED_PER_KEY: "1000000", MAX_QUEUE_DEPTH: "1000000",
      ...(o.gray ? { ALLOW_HTTP_WEBHOOKS: "true", WEBHOOK_ALLOW_HOSTS: "127.0.0.1" } : {}),
    },
  });
  const ledger = new ProtocolLedger();
  const hangLimitMs = Math.max(1500, o.leaseTtlMs);
  const faults = { errorRate: o.errorRate, crashRate: o.crashRate, hangRate: o.hangRate, seed: o.seed, crashDownMs: 300 };
  const agentConfig = {
    jobTimeoutMs: hangLimitMs,
    graceMs: 1500,
    tuning: {
      reconnectMinMs: 100, reconnectMaxMs: 1000, welcomeTimeoutMs: 5000, pollMs: 200, comfyDownMs: 1500, stopWaitMs: 2000,
      progressIntervalMs: 250, uploadRetries: 5, uploadMinMs: 100, ackWaitMs: 1000, launchReadyMs: 10_000,
    },
  };
  let gray: GrayFaults | null = null;
  const fleet = await Fleet.start({
    size: o.agents,
    edgePort: edge.port,
    agentToken: keys.agent,
    stepMs: 5,
    faults,
    agent: agentConfig,
    onMessage: (dir, text, rig) => {
      ledger.record(dir, text, rig);
      gray?.record(dir, text, rig);
    },
  });
  if (o.gray) {
    gray = await GrayFaults.start({
      fleet, edgePort: edge.port, agentToken: keys.agent, stepMs: 5, faults, agent: agentConfig, leaseTtlMs: o.leaseTtlMs, log,
      onMessage: (dir, text, rig) => ledger.record(dir, text, rig),
    });
  }
  const client = new EdgeClient(edge.url, keys);
  const monkey = new ChaosMonkey(fleet, random, o.monkeyEveryMs);
  const runId = randomBytes(6).toString("hex");
  const taskIds: string[] = [];
  let unsubmitted = 0;
  let submitting = true;
  let timedOut = false;
  let gauges: QueueGauges = { byState: {}, counters: {} };

  try {
    monkey.start();
    const submitter = (async () => {
      let next = 0;
      const worker = async () => {
        while (next < o.jobs && Date.now() < deadline) {
          if (taskIds.length - terminalOf(gauges) >= o.backlog) {
            await sleep(50);
            continue;
          }
          const i = next++;
          const hook = gray?.webhookFor(i);
          const body = {
            workflow_id: "sd15_basic", params: { prompt: `chaos job ${i}`, width: 64, height: 64, steps: 8, seed: i },
            ...(hook ? { webhook_url: hook.url } : {}),
          };
          try {
            const taskId = await client.submit(body, `chaos-${runId}-${i}`, deadline, hook?.owner === "other" ? keys.others["chaos-other-owner"] : keys.client);
            taskIds.push(taskId);
            gray?.submitted(i, taskId);
          } catch (e) {
            unsubmitted++;
            log(`submit ${i} failed: ${(e as Error).message}`);
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      submitting = false;
    })();

    let restartsDone = 0;
    let lastLog = 0;
    for (;;) {
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      gauges = await client.gauges(deadline).catch(() => gauges);
      const terminal = terminalOf(gauges);
      gray?.tick(terminal, o.jobs);
      if (restartsDone < o.edgeRestarts && terminal >= (o.jobs * (restartsDone + 1)) / (o.edgeRestarts + 1)) {
        log(`restarting the edge (${restartsDone + 1}/${o.edgeRestarts}) at ${terminal} terminal jobs`);
        await edge.restart(random.int(200, 1000));
        restartsDone++;
        continue;
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        const f = fleet.counts;
        log(`t=${Math.round((Date.now() - started) / 1000)}s submitted ${taskIds.length}/${o.jobs} terminal ${terminal} (ok ${gauges.byState.succeeded ?? 0}, failed ${gauges.byState.failed ?? 0}) active ${activeOf(gauges)} | kills ${f.killed} drains ${f.drained} cuts ${f.cuts} comfy crashes ${f.comfyCrashes} | edge restarts ${restartsDone}`);
      }
      // Done when every job is terminal, every edge restart happened, and the monkey hit with each kind of fault once.
      if (!submitting && restartsDone >= o.edgeRestarts && monkey.openingDone && (gray?.openingDone ?? true) && activeOf(gauges) === 0 && terminal >= taskIds.length) break;
      if (!submitting && activeOf(gauges) === 0 && terminal >= taskIds.length && restartsDone < o.edgeRestarts) {
        // Fewer jobs than restart points (tiny runs): restart anyway, the guarantees must hold across it.
        await edge.restart(random.int(200, 1000));
        restartsDone++;
        continue;
      }
      await sleep(300);
    }
    await submitter;
    await monkey.stop();

    const { views, ...result } = await collectAndVerify(client, edge, taskIds, ledger);
    if (unsubmitted > 0) result.violations.push(`${unsubmitted} submissions never got a 202 before the deadline`);
    const failureTraces = [...views.values()]
      .filter((v): v is TaskView => v?.status === "FAILURE" && v.error?.code !== "execution_error")
      .map((v) => `${v.task_id} ${v.error?.code} (${(v.error?.message ?? "").slice(0, 160)}): ${(ledger.jobs.get(v.task_id)?.history ?? []).join(" ")}`);
    const finalGauges = await client.gauges(Date.now() + 30_000).catch(() => gauges);
    const grayReport = gray ? await gray.finish(views, Date.now() + 30_000) : null;
    if (gray) {
      const hooks = verifyWebhookEvents(views, gray.deliveries);
      result.counts.duplicated += hooks.duplicated;
      result.violations.push(...hooks.violations);
    }
    return {
      ...result,
      submitted: taskIds.length,
      unsubmitted,
      fleet: { ...fleet.counts },
      edgeRestarts: edge.restarts,
      edgeCounters: finalGauges.counters,
      wireErrors: Object.fromEntries(ledger.edgeErrors),
      clientRetries: client.retries,
      serverErrors: client.serverErrors,
      durationMs: Date.now() - started,
      timedOut,
      failureTraces,
      gray: grayReport,
    };
  } finally {
    await gray?.close().catch(() => undefined);
    await fleet.close().catch(() => undefined);
    await edge.close().catch(() => undefined);
  }
}
