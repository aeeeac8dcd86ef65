import { randomUUID } from "node:crypto";
import type { Executor } from "./executor.ts";
import { empty, json, type Router, readJson, text } from "./http.ts";
import { pyBool, pyFloat, pyInt, pyStr } from "./py.ts";
import type { PromptQueue } from "./queue.ts";
import { now, type StatsRecorder } from "./stats.ts";
import { type Graph, MalformedPrompt, type ValidateEnv, validatePrompt } from "./validate.ts";

export interface PromptRoutesDeps {
  readonly queue: PromptQueue;
  readonly executor: Executor;
  readonly stats: StatsRecorder;
  readonly env: ValidateEnv;
  /** Assign every prompt an id of its own, ignoring a client-chosen `prompt_id` (as older builds and some proxies do). */
  readonly ignorePromptIds?: boolean;
}

/** extra_data keys ComfyUI keeps out of the queue and history. */
const SENSITIVE = ["auth_token_comfy_org", "api_key_comfy_org"];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** ComfyUI's queue routes: `/prompt`, `/queue`, `/interrupt`, `/free`, `/history`. */
export function addPromptRoutes(router: Router, deps: PromptRoutesDeps): void {
  const { queue, executor, stats, env } = deps;
  const queueInfo = (): unknown => ({ exec_info: { queue_remaining: queue.remaining() } });

  router.add("GET", "/prompt", () => json(queueInfo()));

  router.add("POST", "/prompt", async (req) => {
    const body = await readJson(req);
    if (!isObject(body)) {
      // `"prompt" in json_data` works on a str or list, then indexing it raises.
      if ((typeof body === "string" || Array.isArray(body)) && !body.includes("prompt")) return noPrompt();
      throw new MalformedPrompt("request body is not a dict");
    }
    let number: number;
    if ("number" in body) number = pyFloat(body.number);
    else {
      number = queue.counter;
      if ("front" in body && pyBool(body.front)) number = -number;
      queue.counter++;
    }
    if (!("prompt" in body)) return noPrompt();
    const promptId = "prompt_id" in body && !deps.ignorePromptIds ? pyStr(body.prompt_id) : randomUUID();
    const verdict = validatePrompt(body.prompt, env, body.partial_execution_targets);
    let extraData: Record<string, unknown> = {};
    if ("extra_data" in body) {
      if (!isObject(body.extra_data)) throw new MalformedPrompt("extra_data is not a dict");
      extraData = body.extra_data;
    }
    if ("client_id" in body) extraData.client_id = body.client_id;
    if (!verdict.ok) return json({ error: verdict.error, node_errors: verdict.nodeErrors }, 400);
    for (const key of SENSITIVE) delete extraData[key];
    extraData.create_time = Date.now();
    queue.put({ number, promptId, prompt: body.prompt as Graph, extraData, outputs: verdict.outputs, receivedAt: now() });
    stats.promptReceived();
    executor.kick();
    return json({ prompt_id: promptId, number, node_errors: verdict.nodeErrors });
  });

  router.add("GET", "/queue", () => json(queue.snapshot()));

  router.add("POST", "/queue", async (req) => {
    const body = await readJson(req);
    if (!isObject(body)) throw new MalformedPrompt("queue body is not a dict");
    if ("clear" in body && pyBool(body.clear)) queue.wipe();
    if ("delete" in body && Array.isArray(body.delete)) for (const id of body.delete) queue.delete(pyStr(id));
    return empty();
  });

  router.add("POST", "/interrupt", async (req) => {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      body = {};
    }
    if (!isObject(body)) throw new MalformedPrompt("interrupt body is not a dict");
    stats.interruptReceived();
    const promptId = body.prompt_id;
    if (pyBool(promptId)) executor.interrupt(pyStr(promptId));
    else executor.interrupt();
    return empty();
  });

  router.add("POST", "/free", async (req) => {
    await readJson(req);
    return empty();
  });

  router.add("GET", "/history", (req) => {
    const max = req.query.get("max_items");
    let maxItems: number | undefined;
    if (max !== null) {
      try {
        maxItems = pyInt(max);
      } catch {
        return text(400, "max_items must be an integer");
      }
    }
    const offset = req.query.get("offset");
    return json(queue.getHistory(undefined, maxItems, offset === null ? -1 : pyInt(offset)));
  });

  router.add("GET", "/history/{prompt_id}", (req) => json(queue.getHistory(req.params.prompt_id as string)));

  router.add("POST", "/history", async (req) => {
    const body = await readJson(req);
    if (!isObject(body)) throw new MalformedPrompt("history body is not a dict");
    if ("clear" in body && pyBool(body.clear)) queue.wipeHistory();
    if ("delete" in body && Array.isArray(body.delete)) for (const id of body.delete) queue.deleteHistory(pyStr(id));
    return empty();
  });
}

function noPrompt(): ReturnType<typeof json> {
  const error = { type: "no_prompt", message: "No prompt provided", details: "No prompt provided", extra_info: {} };
  return json({ error, node_errors: {} }, 400);
}
