import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { NodeCache } from "./cache.ts";
import { Executor } from "./executor.ts";
import { FaultPlanner, type SimFaults, SimFaultsSchema } from "./faults.ts";
import { SimFiles } from "./files.ts";
import { extraNodeClasses } from "./extra-nodes.ts";
import { DEFAULT_INVENTORY, ModelFolders, seedModelFiles } from "./folders.ts";
import { empty, HttpFailure, INTERNAL_ERROR, type Reply, Router, readBody, text, writeReply } from "./http.ts";
import { BEHAVIOURS } from "./node-behaviour.ts";
import { NODE_CLASSES } from "./node-classes.ts";
import { originRefused } from "./origin.ts";
import { PromptQueue } from "./queue.ts";
import { addFileRoutes } from "./routes-files.ts";
import { addInfoRoutes } from "./routes-info.ts";
import { addPromptRoutes } from "./routes-prompt.ts";
import { addSimRoutes } from "./routes-sim.ts";
import { type SimStats, StatsRecorder } from "./stats.ts";
import type { ValidateEnv } from "./validate.ts";
import { monitorSample, WsHub } from "./ws-hub.ts";

export { ExtraNodesError } from "./extra-nodes.ts";
export type { SimFaults } from "./faults.ts";
export type { SimExecution, SimStats } from "./stats.ts";

export const PREVIEW_METHODS = ["none", "auto", "latent2rgb", "taesd"] as const;
export type PreviewMethod = (typeof PREVIEW_METHODS)[number];

export interface SimOptions {
  /** 0 (the default in tests) lets the OS pick; the CLI defaults to 8188. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Milliseconds per sampler step (default 50). */
  stepMs?: number;
  /**
   * ComfyUI's `--preview-method`: with `none` no binary preview frames are sent. ComfyUI's own
   * default is `none` (so is the CLI's); here it defaults to `auto` so that tests see previews.
   */
  previewMethod?: PreviewMethod;
  /**
   * Model files by folder (`unet`, `clip`, `loras`, ...), written as small placeholder files into the
   * models folder (only those missing). Default, without `modelsDir`: what the project's workflows need.
   */
  inventory?: Record<string, string[]>;
  /**
   * ComfyUI's `models/` folder on disk: the inventory is what is there (rescanned when a folder
   * changes). Kept on close. Default: a `models/` under the sim's temp base, removed on close.
   */
  modelsDir?: string;
  /** Node classes this rig's custom nodes add (each an image op, see extra-nodes.ts): in `/object_info`, and they run. */
  extraNodes?: readonly string[];
  faults?: SimFaults;
  /** ComfyUI's output directory; a temp dir (removed on close) by default. */
  outputDir?: string;
  /** Ignore a client-chosen `prompt_id` and assign a uuid, as ComfyUI builds before client ids (and some proxies) do. */
  ignorePromptIds?: boolean;
}

export interface Sim {
  url: string;
  port: number;
  /** ComfyUI's directories: `base` holds `input/` and `temp/` (and `output/` unless `outputDir` was set). */
  dirs: { base: string; input: string; output: string; temp: string; models: string };
  close(): Promise<void>;
  setFaults(f: SimFaults): void;
  stats(): SimStats;
  /**
   * Like ComfyUI dying and being restarted: sockets dropped without close frames, queue and history forgotten, connections refused for `crashDownMs`, then listening again on the same port.
   * With `extraNodes`, it comes back with those custom node classes instead (custom nodes load at start). @throws ExtraNodesError
   */
  crash(next?: { extraNodes?: readonly string[] }): Promise<void>;
  /** Deletes a model file "from disk": later prompts naming it fail ComfyUI's validation. */
  removeModel(name: string): boolean;
  /** Writes a placeholder model file under `models/<dir>`: `/models/...` and the loaders list it at once. */
  addModel(dir: string, name: string): void;
}

const MONITOR_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a ComfyUI stand-in that speaks ComfyUI v0.3.64's HTTP and WebSocket protocol.
 * @example
 * const sim = await startSim({ port: 0, stepMs: 0 });
 * await fetch(`${sim.url}/prompt`, { method: "POST", body: JSON.stringify({ prompt, client_id }) });
 * await sim.close();
 */
export async function startSim(opts: SimOptions = {}): Promise<Sim> {
  // A bad class name is the caller's mistake: refused before anything is created.
  let extra = extraNodeClasses(opts.extraNodes ?? [], NODE_CLASSES);
  // Shared by reference with validation, /object_info and the executor: a restart swaps the extras in place.
  const classes = { ...NODE_CLASSES, ...extra.classes };
  const behaviours = { ...BEHAVIOURS, ...extra.behaviours };
  let nextExtra: typeof extra | null = null;
  const swapExtras = (): void => {
    if (!nextExtra) return;
    for (const name of Object.keys(extra.classes)) {
      delete classes[name];
      delete behaviours[name];
    }
    extra = nextExtra;
    nextExtra = null;
    Object.assign(classes, extra.classes);
    Object.assign(behaviours, extra.behaviours);
  };
  const files = await SimFiles.create(opts.outputDir);
  const folders = new ModelFolders(opts.modelsDir ? path.resolve(opts.modelsDir) : path.join(files.root, "models"));
  const seed = opts.inventory ?? (opts.modelsDir ? undefined : DEFAULT_INVENTORY);
  if (seed) seedModelFiles(folders.root, seed);
  const hub = new WsHub();
  const stats = new StatsRecorder();
  const faults = new FaultPlanner(SimFaultsSchema.parse(opts.faults ?? {}));
  const cache = new NodeCache();
  const queue: PromptQueue = new PromptQueue(() => {
    hub.send("status", { status: { exec_info: { queue_remaining: queue.remaining() } } }, null);
    stats.queueState(queue.running !== null, queue.pendingCount);
  });
  const env: ValidateEnv = {
    classes,
    folders,
    inputImages: () => files.inputImages(),
    inputFileExists: (name) => files.inputFileExists(name),
  };
  const host = opts.host ?? "127.0.0.1";
  const sockets = new Set<Socket>();
  let closed = false;
  let down: Promise<void> | null = null;

  const executor = new Executor({
    queue, hub, cache, files, folders, faults, stats, classes, behaviours, stepMs: opts.stepMs ?? 50,
    previews: (opts.previewMethod ?? "auto") !== "none",
    crash: () => void sim.crash(),
  });
  const router = new Router();
  addPromptRoutes(router, { queue, executor, stats, env, ignorePromptIds: opts.ignorePromptIds ?? false });
  addInfoRoutes(router, { classes, folders, env });
  addFileRoutes(router, files);
  addSimRoutes(router, { stats, faults, crash: () => void sim.crash(), removeModel: (name) => folders.remove(name), addModel: (dir, name) => folders.add(dir, name) });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://sim");
    const method = req.method ?? "GET";
    stats.request(method, url.pathname);
    let reply: Reply;
    const api = url.pathname.startsWith("/api/");
    const path = api ? url.pathname.slice(4) : url.pathname;
    const match = api && path.startsWith("/__sim/") ? null : router.match(method, path);
    if (originRefused(req.headers)) reply = empty(403);
    else if (method === "OPTIONS") reply = empty(200); // ComfyUI's middleware answers every pre-flight
    else if (match === null) reply = text(404, "404: Not Found");
    else if (match === "method") reply = text(405, "405: Method Not Allowed");
    else {
      try {
        reply = await match.handler({
          method, path, query: url.searchParams, headers: req.headers, params: match.params, body: () => readBody(req),
        });
      } catch (e) {
        reply = e instanceof HttpFailure ? e.reply : INTERNAL_ERROR;
      }
    }
    writeReply(res, reply);
  };

  const onSocket = (ws: WebSocket, clientId: string, socket: Duplex): void => {
    const sid = hub.attach(ws, clientId, socket);
    hub.send("status", { status: { exec_info: { queue_remaining: queue.remaining() } }, sid }, sid);
    if (executor.clientId === sid && executor.lastNodeId !== null) hub.send("executing", { node: executor.lastNodeId }, sid);
  };

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server = http.createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 75_000;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://sim");
    if ((url.pathname !== "/ws" && url.pathname !== "/api/ws") || originRefused(req.headers)) {
      socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws, url.searchParams.get("clientId") ?? "", socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        resolve();
      });
    });
  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });

  await listen(opts.port ?? 0);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : (opts.port ?? 0);
  const monitor = setInterval(() => {
    if (hub.size > 0) hub.send("crystools.monitor", monitorSample(), null);
  }, MONITOR_MS);
  monitor.unref();

  const restart = async (): Promise<void> => {
    const wasRunning = queue.running !== null;
    executor.abandon();
    if (wasRunning) stats.ended("crashed");
    hub.dropAll();
    await stopListening();
    queue.reset();
    cache.clear();
    files.forgetCounters();
    stats.queueState(false, 0);
    swapExtras();
    await sleep(faults.crashDownMs);
    // Another process may briefly hold the port; a restarted ComfyUI would retry too.
    for (let attempt = 0; !closed; attempt++) {
      try {
        await listen(port);
        return;
      } catch (e) {
        if (attempt >= 50) throw e;
        await sleep(100);
      }
    }
  };

  const sim: Sim = {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    dirs: { base: files.root, input: files.inputDir, output: files.outputDir, temp: files.tempDir, models: folders.root },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(monitor);
      executor.abandon();
      await down?.catch(() => undefined);
      hub.dropAll();
      await stopListening();
      wss.close();
      await files.dispose();
    },
    removeModel: (name) => folders.remove(name),
    addModel: (dir, name) => folders.add(dir, name),
    setFaults(f) {
      faults.set(SimFaultsSchema.parse(f));
    },
    stats: () => stats.snapshot(),
    crash(next) {
      if (closed) return Promise.resolve();
      if (next?.extraNodes) nextExtra = extraNodeClasses(next.extraNodes, NODE_CLASSES);
      down ??= restart().finally(() => {
        down = null;
      });
      return down;
    },
  };
  return sim;
}
