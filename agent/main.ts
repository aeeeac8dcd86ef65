import type { Logger } from "pino";
import { CLOSE, PROTOCOL_VERSION, type EdgeMessage, type Hello } from "../shared/protocol.ts";
import { ComfyClient } from "./comfy/client.ts";
import { ComfyEventHub } from "./comfy/event-hub.ts";
import { resolveConfig, type AgentConfig, type AgentConfigInput } from "./config.ts";
import { EdgeConnection } from "./edge/connection.ts";
import { agentVersion, loadAgentId } from "./identity.ts";
import { JobSlots, type JobState } from "./jobs.ts";
import { createLogger } from "./log.ts";
import { Metrics, serveMetrics } from "./metrics.ts";
import { ComfySupervisor } from "./supervisor.ts";

export type AgentJob = { job_id: string; lease_id: string; state: JobState; prompt_id: string | null };

/** A running agent, as `startAgent` returns it. */
export type Agent = {
  readonly id: string;
  readonly config: AgentConfig;
  /** The ComfyUI it drives (the launched one under --launch). */
  readonly comfyUrl: string;
  /** `http://127.0.0.1:<port>/metrics` when a metrics port was set. */
  readonly metricsUrl: string | null;
  readonly metrics: Metrics;
  /** Whether the lease socket is up and welcomed right now. */
  readonly connected: boolean;
  /** Resolves once the agent has stopped: after `stop()`, an edge `drain`, or `kill()`. */
  readonly done: Promise<void>;
  /** Resolves at the next `welcome` (at once if connected). */
  connectedOnce(): Promise<void>;
  /** The leases held now and where each job is. */
  jobs(): AgentJob[];
  /** Drains (pause, release unstarted, finish within the grace) and closes. Idempotent. */
  stop(reason?: string): Promise<void>;
  /** Abrupt end, as a crash looks: sockets terminated without close frames, no reports. */
  kill(): void;
};

export type AgentDeps = { logger?: Logger };

/**
 * Starts an agent in this process: launches ComfyUI if asked, then holds the lease
 * socket to the edge until stopped.
 *
 * @example
 * const agent = await startAgent({ edgeUrl: "http://127.0.0.1:8787", token: "t", comfyUrl: sim.url });
 * await agent.connectedOnce();
 * await agent.stop();
 */
export async function startAgent(input: AgentConfigInput, deps: AgentDeps = {}): Promise<Agent> {
  const config = resolveConfig(input);
  const log = deps.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const { id, persisted } = config.agentId ? { id: config.agentId, persisted: true } : await loadAgentId(config.stateDir, config.name);
  if (!persisted) log.warn({ state_dir: config.stateDir }, "could not persist the agent id; using a fresh one");
  const version = await agentVersion();

  let jobs: JobSlots | null = null;
  const supervisor = config.launch
    ? await ComfySupervisor.start({
        dir: config.launch.dir,
        python: config.launch.python,
        gpu: config.launch.gpu,
        log: log.child({ component: "supervisor" }),
        readyTimeoutMs: config.tuning.launchReadyMs,
        onDown: () => jobs?.comfyDied(),
      })
    : null;
  const comfyUrl = supervisor?.url ?? (config.comfyUrl as string);
  const comfy = new ComfyClient(comfyUrl);
  await reclaimComfy(comfy, log);
  // One ComfyUI socket for all prompts, opened now so the first job need not wait for it.
  const events = new ComfyEventHub(comfy);
  events.ready().catch((e: unknown) => log.debug({ err: String(e) }, "ComfyUI socket not open yet; a job will retry"));
  const metricsServer = config.metricsPort !== null ? await serveMetrics(metrics, config.metricsPort) : null;

  let stopping: Promise<void> | null = null;
  let welcomeWaiters: (() => void)[] = [];
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));

  const conn: EdgeConnection = new EdgeConnection({
    edgeUrl: config.edgeUrl,
    token: config.token,
    agentId: id,
    pool: config.pool,
    log,
    reconnectMinMs: config.tuning.reconnectMinMs,
    reconnectMaxMs: config.tuning.reconnectMaxMs,
    welcomeTimeoutMs: config.tuning.welcomeTimeoutMs,
    hello: async (): Promise<Hello> => ({
      type: "hello",
      protocol: PROTOCOL_VERSION,
      agent_id: id,
      name: config.name,
      version,
      pool: config.pool,
      capacity: config.capacity,
      prefetch: config.prefetch,
      inventory: await comfy.inventory(),
      gpu: await readGpu(comfy),
    }),
    leases: () => slots.leases(),
    onWelcome: (welcome) => {
      if (stopping) conn.send({ type: "pause" });
      slots.connected(welcome.lease_ttl_ms);
      for (const w of welcomeWaiters.splice(0)) w();
    },
    onMessage: (message) => route(message),
    onClose: (code) => {
      if (code === CLOSE.replaced) log.error("the edge replaced this connection: another agent uses the same id (same --name and state dir?)");
      if (code === CLOSE.protocolMismatch) log.error({ protocol: PROTOCOL_VERSION }, "the edge refused this protocol version; upgrade the agent");
      if (code === CLOSE.drained) void agent.stop("edge closed the connection as drained");
    },
  });

  const slots = new JobSlots({
    comfy,
    events,
    send: (m) => conn.send(m),
    log,
    metrics,
    capacity: config.capacity,
    prefetch: config.prefetch,
    jobTimeoutMs: config.jobTimeoutMs,
    tuning: config.tuning,
    ...(supervisor ? { comfyReady: (signal: AbortSignal) => supervisor.ready(signal) } : {}),
  });
  jobs = slots;

  function route(message: EdgeMessage): void {
    switch (message.type) {
      case "job":
        slots.accept(message);
        return;
      case "cancel":
        slots.cancel(message);
        return;
      case "ack":
        slots.ack(message);
        return;
      case "drain":
        log.info({ reason: message.reason }, "the edge asked this agent to drain");
        void agent.stop(`edge: ${message.reason}`);
        return;
      case "error":
        log.warn({ code: message.code, error: message.message, job_id: message.job_id, lease_id: message.lease_id }, "edge reported an error");
        return;
      case "welcome":
        return;
    }
  }

  async function shutdown(reason: string): Promise<void> {
    try {
      log.info({ reason, held: slots.leases().length, grace_ms: config.graceMs }, "draining");
      conn.send({ type: "pause" });
      await slots.drain(config.graceMs);
      if (conn.connected) await slots.waitForAcks(config.tuning.ackWaitMs);
      await conn.close();
    } finally {
      events.close();
      comfy.close();
      // Whatever failed above, ComfyUI must not outlive the agent.
      await supervisor?.stop();
      await metricsServer?.close();
      log.info("stopped");
      resolveDone();
    }
  }

  const agent: Agent = {
    id,
    config,
    comfyUrl,
    metricsUrl: metricsServer?.url ?? null,
    metrics,
    get connected() {
      return conn.connected;
    },
    done,
    connectedOnce: () => (conn.connected ? Promise.resolve() : new Promise((r) => welcomeWaiters.push(r))),
    jobs: () => slots.snapshot(),
    stop: (reason = "stop requested") => (stopping ??= shutdown(reason)),
    kill: () => {
      stopping ??= done;
      conn.kill();
      slots.abandonAll();
      events.close();
      comfy.close();
      void supervisor?.stop(0);
      void metricsServer?.close();
      welcomeWaiters = [];
      resolveDone();
    },
  };
  log.info({ agent_id: id, name: config.name, pool: config.pool, comfyui: comfyUrl, edge: conn.url, capacity: config.capacity, prefetch: config.prefetch }, "agent starting");
  conn.start();
  return agent;
}

async function readGpu(comfy: ComfyClient): Promise<Hello["gpu"]> {
  const stats = await comfy.systemStats();
  const device = stats.devices[0];
  if (!device) return null;
  return { name: device.name.slice(0, 256), vram_total_mb: Math.round(device.vram_total / (1024 * 1024)) };
}

/**
 * One agent owns its ComfyUI. Prompts left in it by a previous agent process (one that died
 * mid-job) belong to leases the edge has already re-queued: clear them, so a hung one cannot
 * block this agent's work for good.
 */
async function reclaimComfy(comfy: ComfyClient, log: Logger): Promise<void> {
  try {
    const { running, pending } = await comfy.queue();
    if (pending.length) await comfy.deleteQueued(pending);
    for (const id of running) await comfy.interrupt(id);
    if (running.length || pending.length) log.warn({ running, pending }, "cleared prompts a previous agent left in ComfyUI");
  } catch (e) {
    log.debug({ error: String(e) }, "could not read ComfyUI's queue at start; nothing reclaimed");
  }
}
