#!/usr/bin/env node
// comfy-edge minimal client: no dependencies beyond Node 18+ itself, made for CI scripts.
// Submits one job asking the edge to answer once it has finished (Prefer: wait, so a short
// job takes one request), else polls GET /tasks/{id}; prints one line per state change, then
// the download URL of each output (or, with --out, the file it saved).
//
//   node minimal.mjs --url https://edge.example.com --key KEY --workflow sd15_basic \
//     --prompt "a red fox" --set steps=4 --out ./images
//
// Exit codes: 0 success, 1 the job failed, was cancelled or outran --timeout,
// 2 usage or request errors (bad flags, bad key, invalid parameters, server unreachable).

import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";

const USAGE = `Usage: node minimal.mjs --prompt TEXT [options]
  --url URL          the edge's base URL (default: $COMFY_EDGE_URL)
  --key KEY          API key (default: $COMFY_EDGE_API_KEY)
  --workflow ID      workflow to run (default: flux_default)
  --prompt TEXT      params.prompt
  --set NAME=VALUE   any parameter; VALUE is JSON when it parses (4, true), else text; repeatable
  --out DIR          save the outputs here instead of printing their URLs
  --wait SEC         let the submit answer with the finished job if it ends within SEC
                     (Prefer: wait, at most 60; 0: answer at once) (default: 10)
  --interval SEC     polling period (default: 1)
  --timeout SEC      give up after this long (default: 600)`;

class Failure extends Error {
  constructor(message, exitCode) {
    super(message);
    this.exitCode = exitCode;
  }
}

function usage(message) {
  return new Failure(`${message}\n${USAGE}`, 2);
}

function readOptions(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: "string" },
        key: { type: "string" },
        workflow: { type: "string", default: "flux_default" },
        prompt: { type: "string" },
        set: { type: "string", multiple: true },
        out: { type: "string" },
        interval: { type: "string", default: "1" },
        wait: { type: "string", default: "10" },
        timeout: { type: "string", default: "600" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw usage(e.message);
  }
  if (values.help) return null;
  const url = (values.url ?? env.COMFY_EDGE_URL ?? "").replace(/\/+$/, "");
  const key = values.key ?? env.COMFY_EDGE_API_KEY;
  if (!/^https?:\/\/./.test(url)) throw usage("--url (or COMFY_EDGE_URL) must be an http(s) URL.");
  if (!key) throw usage("--key (or COMFY_EDGE_API_KEY) is required.");
  const params = {};
  for (const pair of values.set ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw usage(`--set "${pair}" must look like name=value.`);
    const text = pair.slice(eq + 1);
    try {
      params[pair.slice(0, eq)] = JSON.parse(text);
    } catch {
      params[pair.slice(0, eq)] = text;
    }
  }
  if (values.prompt !== undefined) params.prompt = values.prompt;
  const interval = Number(values.interval);
  const timeout = Number(values.timeout);
  if (!(interval > 0) || !(timeout > 0)) throw usage("--interval and --timeout are positive numbers of seconds.");
  const wait = Number(values.wait);
  if (!Number.isInteger(wait) || wait < 0 || wait > 60) throw usage("--wait is a whole number of seconds from 0 to 60.");
  return { url, key, workflow: values.workflow, params, out: values.out, intervalMs: interval * 1000, timeoutMs: timeout * 1000, waitS: Math.min(wait, timeout) };
}

/** One API call; a non-2xx answer becomes a Failure carrying the server's code, message and field errors. */
async function call(opts, method, path, body, headers = {}, timeoutMs = 30_000) {
  let res;
  try {
    res = await fetch(opts.url + path, {
      method,
      headers: { authorization: `Bearer ${opts.key}`, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new Failure(`${method} ${path} failed: ${e.cause?.message ?? e.message}`, 2);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  if (res.ok && json) return json;
  const err = json?.error;
  const lines = [err ? `${err.code}: ${err.message}` : `HTTP ${res.status}: ${text.slice(0, 200)}`];
  for (const d of err?.details ?? []) lines.push(`  ${d.path} (${d.rule}): ${d.message}`);
  throw new Failure(lines.join("\n"), 2);
}

async function save(output, dir, index, used) {
  const res = await fetch(output.url, { signal: AbortSignal.timeout(120_000) }).catch((e) => {
    throw new Failure(`download failed: ${e.message}`, 2);
  });
  if (!res.ok) throw new Failure(`download of ${output.filename} failed: HTTP ${res.status}`, 2);
  const name = basename(output.filename).replace(/[^A-Za-z0-9._-]/g, "_") || `output-${index + 1}`;
  const path = join(dir, used.has(name) ? `${index + 1}-${name}` : name);
  used.add(name);
  await writeFile(path, new Uint8Array(await res.arrayBuffer()));
  return path;
}

async function run(opts) {
  const prefer = opts.waitS > 0 ? { prefer: `wait=${opts.waitS}` } : {};
  // A finished job comes back as the task itself (200); otherwise the usual 202 to poll.
  const job = await call(opts, "POST", "/v1/jobs", { workflow_id: opts.workflow, params: opts.params }, prefer, 30_000 + opts.waitS * 1000);
  console.log(`task ${job.task_id}`);
  const deadline = Date.now() + opts.timeoutMs;
  let last = "";
  let answered = job.status === "PENDING" ? null : job;
  for (;;) {
    const task = answered ?? (await call(opts, "GET", `/tasks/${job.task_id}`));
    answered = null;
    // The job's one progress number (never backwards; 100 on SUCCESS).
    const shown = task.progress && (task.status === "PROGRESS" || task.status === "SUCCESS");
    const line = shown ? `${task.status} ${Math.round(task.progress.percent)}%` : task.status;
    if (task.status !== last) console.log(line);
    last = task.status;
    if (task.status === "SUCCESS") {
      if (opts.out) await mkdir(opts.out, { recursive: true });
      const used = new Set();
      for (const [i, output] of task.result.outputs.entries()) console.log(opts.out ? `saved ${await save(output, opts.out, i, used)}` : `url ${output.url}`);
      return 0;
    }
    if (task.status === "FAILURE" || task.status === "CANCELLED") {
      if (task.error) console.error(`error ${task.error.code}: ${task.error.message}`);
      return 1;
    }
    if (Date.now() > deadline) {
      console.error(`timeout: task ${job.task_id} is still ${task.status} after ${opts.timeoutMs / 1000}s`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
  }
}

async function main() {
  try {
    const opts = readOptions(process.argv.slice(2), process.env);
    if (!opts) {
      console.log(USAGE);
      return 0;
    }
    return await run(opts);
  } catch (e) {
    console.error(`error: ${e.message}`);
    return e instanceof Failure ? e.exitCode : 2;
  }
}

process.exitCode = await main();
