import { join } from "node:path";
import type { Logger } from "pino";
import { CLOSE, PROTOCOL_VERSION, type EdgeMessage, type Hello, type ModelInventory } from "../shared/protocol.ts";
import { ComfyClient } from "./comfy/client.ts";
import { ComfyEventHub } from "./comfy/event-hub.ts";
import { reclaimLogged } from "./comfy/ownership.ts";
import { ComfyHealth } from "./comfy-health.ts";
import { resolveConfig, type AgentConfig, type AgentConfigInput } from "./config.ts";
import { EdgeConnection } from "./edge/connection.ts";
import { agentVersion, loadAgentId } from "./identity.ts";
import { comfyDirs, JobFiles } from "./job-files.ts";
import { InventoryRefresh } from "./inventory-refresh.ts";
import { findHuggingFaceToken } from "../install/models/token.ts";
import { ModelFetches } from "./models/fetches.ts";
import { openModelStore } from "./models/setup.ts";
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
  const modelStore = await openModelStore(config, log);

  let health: ComfyHealth | null = null;
  const supervisor = config.launch
    ? await ComfySupervisor.start({
        dir: config.launch.dir,
        python: config.launch.python,
        gpu: config.launch.gpu,
        extraArgs: config.launch.args,
        pidFile: join(config.stateDir, `comfyui-${id.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`),
        log: log.child({ component: "supervisor" }),
        readyTimeoutMs: config.tuning.launchReadyMs,
        onDown: (exit) => health?.down(`ComfyUI exited (${exit.signal ?? `code ${exit.code}`})`),
        onUp: () => health?.suspect(),
      })
    : null;
  const comfyUrl = supervisor?.url ?? (config.comfyUrl as string);
  const comfy = new ComfyClient(comfyUrl);
  // One ComfyUI socket for all prompts, opened now so the first job need not wait for it.
  const events = new ComfyEventHub(comfy);
  events.onDrop = () => {
    // A dropped socket may be a restarted ComfyUI, whose custom nodes may differ.
    inventoryRefresh.nodesMayHaveChanged();
    health?.suspect();
  };
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
      // While ComfyUI is unreachable: what it said last, and why no jobs should come.
      ...(await rigFacts()),
    }),
    leases: () => slots.leases(),
    onWelcome: (welcome) => {
      if (stopping) conn.send({ type: "pause", reason: "draining" });
      slots.connected(welcome.lease_ttl_ms);
      fetches.resend();
      for (const w of welcomeWaiters.splice(0)) w();
    },
    onMessage: (message) => route(message),
    closeIsHarmless: () => stopping !== null && slots.leases().length === 0,
    onClose: (code) => {
      if (code === CLOSE.replaced) log.error("the edge replaced this connection: another agent uses the same id (same --name and state dir?)");
      if (code === CLOSE.protocolMismatch) log.error({ protocol: PROTOCOL_VERSION }, "the edge refused this protocol version; upgrade the agent");
      if (code === CLOSE.drained) void agent.stop("edge closed the connection as drained");
      if (code === CLOSE.silent) log.warn("the edge heard nothing from this agent for 3 heartbeat periods (frozen or cut off?): its leases went back to the queue; reconnecting");
      if (code === CLOSE.identityTaken) log.error("the edge refused this agent id: another agent key registered it; use another --name or that key");
    },
  });

  // The edge's copy of the rig's model files stays current: periodically, when ComfyUI is back, on model_missing.
  const inventoryRefresh = new InventoryRefresh({
    read: () => comfy.inventory(),
    // Files came or went: the models folder's free space changed with them.
    send: async (inventory, nodes) =>
      conn.send({ type: "inventory", inventory, ...(nodes ? { nodes } : {}), ...(modelStore ? { model_store: await modelStore.facts() } : {}) }),
    readNodes: () => comfy.nodeCatalog(),
    intervalMs: config.inventoryIntervalMs,
    skip: () => health?.up === false,
    log,
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
    agentId: id,
    files: jobFiles(config, log),
    onModelMissing: () => void inventoryRefresh.refresh("ComfyUI lacked a model it listed", true),
    ...(supervisor ? { comfyReady: (signal: AbortSignal) => supervisor.ready(signal) } : {}),
  });

  // Models the edge asks for (`fetch`), downloaded into ComfyUI's models folder; the HF token is the rig's own.
  const fetches = new ModelFetches({
    store: modelStore,
    send: (m) => conn.send(m),
    readInventory: () => comfy.inventory(),
    told: (inventory) => inventoryRefresh.known(inventory),
    retell: (reason) => void inventoryRefresh.refresh(reason, true),
    refusal: () => (stopping ? "the agent is draining" : health?.up === false ? `ComfyUI is unreachable (${health.reason})` : null),
    inUse: () => slots.heldModels(),
    token: findHuggingFaceToken(process.env, process.cwd()),
    log: log.child({ component: "models" }),
  });

  let known: { inventory: ModelInventory; gpu: Hello["gpu"]; fresh: boolean } = { inventory: {}, gpu: null, fresh: false };
  async function rigFacts(): Promise<Pick<Hello, "inventory" | "gpu" | "pause_reason" | "model_store" | "nodes">> {
    if (health?.up !== false) {
      try {
        known = { inventory: await comfy.inventory(), gpu: await readGpu(comfy), fresh: true };
        inventoryRefresh.known(known.inventory);
      } catch (e) {
        health?.suspect();
        log.debug({ err: String(e) }, "could not read ComfyUI's inventory for hello");
        known = { ...known, fresh: false };
      }
    } else known = { ...known, fresh: false };
    const reason = health?.up === false ? health.reason : null;
    const nodes = await inventoryRefresh.nodesForHello(health?.up !== false);
    const model_store = modelStore ? await modelStore.facts() : null;
    return { inventory: known.inventory, gpu: known.gpu, nodes, model_store, ...(reason ? { pause_reason: unreachable(reason) } : {}) };
  }

  // While ComfyUI is unreachable the agent takes no jobs and hands back what it holds: the rig's
  // fault costs no job an attempt. It says why to the edge (GET /agents) and resumes when ComfyUI answers.
  const watch = new ComfyHealth({
    probe: (signal) => comfy.systemStats(signal),
    intervalMs: config.tuning.comfyProbeMs,
    timeoutMs: config.tuning.comfyProbeTimeoutMs,
    retryMinMs: config.tuning.comfyRetryMinMs,
    retryMaxMs: config.tuning.comfyRetryMaxMs,
    log,
    onDown: (reason) => {
      slots.comfyDown(reason);
      if (!stopping) conn.send({ type: "pause", reason: unreachable(reason) });
    },
    onUp: () => {
      slots.comfyUp();
      events.ready().catch(() => {});
      // Prompts it handed back may still sit (or run) in a ComfyUI that was only hung.
      void reclaimLogged(comfy, id, log, slots.promptIds());
      if (stopping) return;
      inventoryRefresh.nodesMayHaveChanged();
      // A hello sent while ComfyUI was away carried no fresh inventory: say hello again.
      if (!known.fresh) conn.reconnect("ComfyUI is back; refreshing the inventory");
      else {
        conn.send({ type: "resume" });
        void inventoryRefresh.refresh("ComfyUI answers again (it may have restarted)");
      }
    },
  });
  health = watch;
  await watch.start();
  // Before any job: prompts a predecessor of this id left behind (a hung ComfyUI: on its return).
  if (watch.up) await reclaimLogged(comfy, id, log);

  function route(message: EdgeMessage): void {
    switch (message.type) {
      case "job":
        modelStore?.touch(message.models);
        slots.accept(message);
        return;
      case "fetch":
        fetches.handle(message);
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
      conn.send({ type: "pause", reason: "draining" });
      // Fetches in flight stop now (each answers `refused`): a draining agent takes no new models.
      await Promise.all([slots.drain(config.graceMs), fetches.close()]);
      if (conn.connected) await slots.waitForAcks(config.tuning.ackWaitMs);
      await conn.close();
    } finally {
      watch.close();
      inventoryRefresh.close();
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
      void fetches.close();
      watch.close();
      inventoryRefresh.close();
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
  inventoryRefresh.start();
  return agent;
}

/** Who deletes each job's files from ComfyUI, or null (with a word why) when no one does. */
function jobFiles(config: AgentConfig, log: Logger): JobFiles | null {
  if (config.keepFiles) return null;
  const dirs = comfyDirs(config);
  if (dirs) {
    log.info(dirs, "each job's files are deleted from ComfyUI's input/ and output/ when it ends (--keep-files keeps them)");
    return new JobFiles(dirs, log);
  }
  log.warn("ComfyUI's directories are unknown: job inputs and outputs stay in its input/ and output/ (set --comfy-dir, or --keep-files to say so)");
  return null;
}

/** The `pause` reason for an unreachable ComfyUI. */
function unreachable(reason: string): string {
  return `comfyui_unreachable: ${reason}`.slice(0, 256);
}

async function readGpu(comfy: ComfyClient): Promise<Hello["gpu"]> {
  const stats = await comfy.systemStats();
  const device = stats.devices[0];
  if (!device) return null;
  return { name: device.name.slice(0, 256), vram_total_mb: Math.round(device.vram_total / (1024 * 1024)) };
}

