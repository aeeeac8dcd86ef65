import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { POOL_NAME } from "../shared/protocol.ts";
import { CLIError } from "./cli-error.ts";
import { splitShellWords } from "./shell-words.ts";

const httpUrl = z
  .string()
  .url()
  .refine((u) => /^(https?|wss?):\/\//.test(u), "must start with http://, https://, ws:// or wss://");

/** Knobs tests turn down; production keeps the defaults. */
export const TuningSchema = z.object({
  reconnectMinMs: z.number().int().nonnegative().default(500),
  reconnectMaxMs: z.number().int().positive().default(30_000),
  welcomeTimeoutMs: z.number().int().positive().default(10_000),
  /** How often a run polls `/history` while its ComfyUI socket is down. */
  pollMs: z.number().int().positive().default(1_000),
  /** How long a run waits for an unreachable ComfyUI before failing retryable. */
  comfyDownMs: z.number().int().positive().default(60_000),
  /** How long a stopped (cancelled, timed-out) prompt may take to leave ComfyUI. */
  stopWaitMs: z.number().int().positive().default(30_000),
  progressIntervalMs: z.number().int().nonnegative().default(100),
  uploadRetries: z.number().int().nonnegative().default(5),
  uploadMinMs: z.number().int().nonnegative().default(500),
  /** How long `stop()` waits for the edge to acknowledge final results. */
  ackWaitMs: z.number().int().nonnegative().default(5_000),
  /** How long `--launch` waits for ComfyUI to answer `/system_stats`. */
  launchReadyMs: z.number().int().positive().default(300_000),
  /** How often a ComfyUI that is up is probed (`/system_stats`), to notice one that hangs without closing. */
  comfyProbeMs: z.number().int().positive().default(5_000),
  /** A probe unanswered this long counts ComfyUI as unreachable. */
  comfyProbeTimeoutMs: z.number().int().positive().default(10_000),
  /** Backoff between probes of an unreachable ComfyUI: from min, doubling, to max. */
  comfyRetryMinMs: z.number().int().positive().default(500),
  comfyRetryMaxMs: z.number().int().positive().default(15_000),
});
export type Tuning = z.infer<typeof TuningSchema>;

export const LaunchSchema = z.object({
  dir: z.string().min(1).describe("The ComfyUI checkout holding main.py"),
  python: z.string().min(1).nullable().default(null).describe("Python interpreter; null picks the checkout's venv or python3"),
  gpu: z.string().min(1).nullable().default(null).describe("CUDA_VISIBLE_DEVICES for the child"),
  args: z.array(z.string()).default([]).describe("Extra flags for ComfyUI's main.py (--comfy-args, COMFY_ARGS, or after --)"),
});
export type LaunchConfig = z.infer<typeof LaunchSchema>;

/** Everything `startAgent` needs; every field but the edge, the token and ComfyUI has a default. */
export const AgentConfigSchema = z
  .object({
    edgeUrl: httpUrl.describe("Base URL of the edge; the agent connects to `${edgeUrl}/agent/connect`"),
    token: z.string().min(1).describe("Agent token sent as `Authorization: Bearer`"),
    comfyUrl: httpUrl.nullable().default(null).describe("ComfyUI base URL; null when --launch starts one"),
    name: z.string().min(1).max(128).default(() => hostname().slice(0, 128)),
    pool: z.string().regex(POOL_NAME, "lowercase letters, digits, _ and -").default("default"),
    capacity: z.number().int().min(1).max(64).default(1),
    prefetch: z.number().int().min(0).max(16).default(0),
    launch: LaunchSchema.nullable().default(null),
    metricsPort: z.number().int().min(0).max(65_535).nullable().default(null),
    jobTimeoutMs: z.number().int().positive().default(600_000),
    graceMs: z.number().int().nonnegative().default(60_000),
    /** How often ComfyUI's model files are read again (changes go to the edge); 0: only at connect, restart and model_missing. */
    inventoryIntervalMs: z.number().int().nonnegative().default(60_000),
    stateDir: z.string().min(1).default(() => join(homedir(), ".comfy-agent")),
    /** Fixed agent id; when absent one is read from (or written to) `stateDir`, per name. */
    agentId: z.string().min(1).max(128).nullable().default(null),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    /** ComfyUI's base directory (holding input/ and output/) for --comfyui; --launch knows it. Null: files are not cleaned. */
    comfyDir: z.string().min(1).nullable().default(null),
    /** Leave each job's inputs and outputs in ComfyUI's input/ and output/. */
    keepFiles: z.boolean().default(false),
    /**
     * ComfyUI's models folder, where models fetched on demand go. Null: `<ComfyUI dir>/models` when
     * --comfy-dir or --launch names that dir (`modelsDirOf`), else the agent fetches no models.
     */
    modelsDir: z.string().min(1).nullable().default(null),
    /** Bytes the models this agent fetched may take (--models-cache-gb); null: only free disk limits. */
    modelsCacheBytes: z.number().int().nonnegative().nullable().default(null),
    /** `folder/name` entries never evicted (--pin-models); files there at start are never evicted either. */
    pinModels: z.array(z.string().max(600).regex(/^[^/\\]+\/[^/\\]/, "folder/name, e.g. loras/add_detail.safetensors")).default([]),
    tuning: TuningSchema.default(() => TuningSchema.parse({})),
  })
  .refine((c) => c.comfyUrl !== null || c.launch !== null, {
    message: "set --comfyui (or COMFYUI_URL), or --launch <ComfyUI dir>",
    path: ["comfyUrl"],
  });
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

export const USAGE = `comfy-agent: runs ComfyUI jobs leased from a comfy-edge queue

Usage: comfy-agent --edge <url> --token <token> (--comfyui <url> | --launch <dir>) [options] [-- <ComfyUI flags>]

  --edge <url>          edge base URL                          (env EDGE_URL)
  --token <token>       agent token                            (env AGENT_TOKEN)
  --comfyui <url>       a running ComfyUI                      (env COMFYUI_URL)
  --launch <dir>        start and supervise ComfyUI from <dir>
  --python <path>       interpreter for --launch (default: <dir>/venv, <dir>/.venv or python3)
  --gpu <index>         CUDA_VISIBLE_DEVICES for --launch
  --comfy-args <flags>  extra flags for the launched ComfyUI, one string, e.g. "--highvram --preview-method auto"
                        (env COMFY_ARGS); flags after -- are appended too
  --comfy-dir <dir>     ComfyUI's base directory (input/, output/) when it runs apart (--comfyui), so the
                        agent can delete each job's files there                  (env COMFY_DIR)
  --keep-files          leave each job's inputs and outputs in ComfyUI's input/ and output/ (default: delete
                        them once the job ends)                                   (env KEEP_FILES=1)
  --models-dir <dir>    ComfyUI's models folder, where models the edge asks for are fetched (default:
                        <comfy-dir>/models, or the launched ComfyUI's; neither: no fetching)  (env MODELS_DIR)
  --models-cache-gb <n> disk budget (GiB) for the models this agent fetched; least recently used ones
                        are evicted to stay under it (default: none, free disk is the limit)  (env MODELS_CACHE_GB)
  --pin-models <list>   folder/name entries never evicted, comma-separated; files present at start
                        are never evicted either                                  (env PIN_MODELS)
                        Gated Hugging Face models take the rig's token: env HUGGINGFACE_TOKEN (or HF_TOKEN, or .env)
  --name <name>         agent name (default: host name)         (env AGENT_NAME)
  --pool <pool>         queue pool (default: default)          (env AGENT_POOL)
  --capacity <n>        jobs run at once (default: 1)
  --prefetch <n>        extra jobs held in ComfyUI's queue (default: 0)
  --job-timeout <dur>   per-job limit when the edge's job names none (its workflow's timeout_s wins), e.g. 600s, 10m (default: 600s)
  --grace <dur>         drain grace for running jobs (default: 60s)
  --inventory-interval <dur>  how often ComfyUI's model files are read again, changes sent to the edge
                        (default: 60s; 0 only at connect, ComfyUI restarts and model_missing)  (env INVENTORY_INTERVAL)
  --metrics-port <n>    serve Prometheus metrics on 127.0.0.1:<n>
  --state-dir <dir>     where the agent id is kept (default: ~/.comfy-agent)  (env AGENT_STATE_DIR)
  --log-level <level>   fatal|error|warn|info|debug|trace|silent (default: info)  (env LOG_LEVEL)
  -h, --help            show this help
  -v, --version         print the version
`;

const FLAGS = {
  edge: { type: "string" },
  token: { type: "string" },
  comfyui: { type: "string" },
  launch: { type: "string" },
  python: { type: "string" },
  gpu: { type: "string" },
  "comfy-args": { type: "string" },
  "comfy-dir": { type: "string" },
  "keep-files": { type: "boolean" },
  "models-dir": { type: "string" },
  "models-cache-gb": { type: "string" },
  "pin-models": { type: "string" },
  name: { type: "string" },
  pool: { type: "string" },
  capacity: { type: "string" },
  prefetch: { type: "string" },
  "job-timeout": { type: "string" },
  grace: { type: "string" },
  "inventory-interval": { type: "string" },
  "metrics-port": { type: "string" },
  "state-dir": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

export type CliCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; config: AgentConfig };

/**
 * Reads flags (with env fallbacks) into a validated config.
 * @throws CLIError `usage` for unknown flags or malformed values, `config` for missing or invalid settings.
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  let values: Partial<Record<keyof typeof FLAGS, string | boolean>>;
  // Everything after `--` goes to the launched ComfyUI as is.
  const dashes = argv.indexOf("--");
  const passThrough = dashes < 0 ? [] : argv.slice(dashes + 1);
  // Its value starts with "-", which parseArgs refuses as ambiguous unless joined with "=".
  const own = (dashes < 0 ? [...argv] : argv.slice(0, dashes)).flatMap((a, i, all) =>
    a === "--comfy-args" && i + 1 < all.length ? [`--comfy-args=${all[i + 1]}`] : all[i - 1] === "--comfy-args" && i > 0 ? [] : [a],
  );
  try {
    values = parseArgs({ args: own, options: FLAGS, allowPositionals: false, strict: true }).values;
  } catch (e) {
    throw new CLIError(`${(e as Error).message}\n\n${USAGE}`, "usage");
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };
  const str = (flag: keyof typeof FLAGS, envName?: string): string | undefined => {
    const v = values[flag];
    if (typeof v === "string") return v;
    const e = envName ? env[envName] : undefined;
    return e === undefined || e === "" ? undefined : e;
  };

  const launchDir = str("launch");
  const comfyArgs = str("comfy-args", "COMFY_ARGS");
  const comfyArgWords = comfyArgs === undefined ? [] : splitShellWords(comfyArgs);
  if (comfyArgWords === null) throw new CLIError(`--comfy-args (or COMFY_ARGS) has an unterminated quote or a trailing backslash: ${comfyArgs}`, "usage");
  if (!launchDir && (values["comfy-args"] !== undefined || passThrough.length > 0)) {
    throw new CLIError("--comfy-args and flags after -- only apply with --launch <ComfyUI dir> (the agent passes them to the ComfyUI it starts)", "usage");
  }
  const keepFiles = values["keep-files"] === true || /^(1|true|yes)$/i.test(env.KEEP_FILES ?? "");
  const input: AgentConfigInput = {
    edgeUrl: required(str("edge", "EDGE_URL"), "--edge (or EDGE_URL)"),
    token: required(str("token", "AGENT_TOKEN"), "--token (or AGENT_TOKEN)"),
    comfyUrl: launchDir ? null : (str("comfyui", "COMFYUI_URL") ?? null),
    launch: launchDir ? { dir: launchDir, python: str("python") ?? null, gpu: str("gpu") ?? null, args: [...comfyArgWords, ...passThrough] } : null,
    comfyDir: str("comfy-dir", "COMFY_DIR") ?? null,
    keepFiles,
    modelsDir: str("models-dir", "MODELS_DIR") ?? null,
    modelsCacheBytes: optionalGiB(str("models-cache-gb", "MODELS_CACHE_GB"), "--models-cache-gb (or MODELS_CACHE_GB)") ?? null,
    pinModels: (str("pin-models", "PIN_MODELS") ?? "").split(",").map((m) => m.trim()).filter((m) => m !== ""),
    // One agent per GPU: the default name (and so the persisted id) differs per GPU.
    name: str("name", "AGENT_NAME") ?? (launchDir && str("gpu") ? `${hostname().slice(0, 100)}-gpu${str("gpu")}` : undefined),
    pool: str("pool", "AGENT_POOL"),
    capacity: optionalInt(str("capacity"), "--capacity"),
    prefetch: optionalInt(str("prefetch"), "--prefetch"),
    jobTimeoutMs: optionalDuration(str("job-timeout"), "--job-timeout"),
    graceMs: optionalDuration(str("grace"), "--grace"),
    inventoryIntervalMs: optionalDuration(str("inventory-interval", "INVENTORY_INTERVAL"), "--inventory-interval (or INVENTORY_INTERVAL)"),
    metricsPort: optionalInt(str("metrics-port"), "--metrics-port") ?? null,
    stateDir: str("state-dir", "AGENT_STATE_DIR"),
    logLevel: str("log-level", "LOG_LEVEL") as AgentConfigInput["logLevel"],
  };
  if (!launchDir && (values.python !== undefined || values.gpu !== undefined)) {
    throw new CLIError("--python and --gpu only apply with --launch <ComfyUI dir>", "usage");
  }
  return { kind: "run", config: resolveConfig(input) };
}

/**
 * Validates a config object (as tests and `startAgent` pass it) and fills in defaults.
 * @throws CLIError `config` naming each offending setting.
 */
export function resolveConfig(input: AgentConfigInput): AgentConfig {
  const parsed = AgentConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(config)"}: ${i.message}`);
  throw new CLIError(`invalid agent configuration:\n${lines.join("\n")}`, "config");
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new CLIError(`missing ${what}\n\n${USAGE}`, "config");
  return value;
}

function optionalInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new CLIError(`${flag} must be a whole number, got "${value}"`, "usage");
  return Number(value);
}

/** `40`, `0.5` (GiB) → bytes. */
function optionalGiB(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new CLIError(`${flag} must be a number of GiB like 40 or 0.5, got "${value}"`, "usage");
  return Math.round(Number(value) * 1024 ** 3);
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Parses `600`, `600s`, `1500ms`, `10m` or `1h` (a bare number is seconds) into milliseconds. */
export function parseDuration(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) return null;
  const unit = (m[2] ?? "s") as keyof typeof UNIT_MS;
  return Math.round(Number(m[1]) * UNIT_MS[unit]);
}

function optionalDuration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === null) throw new CLIError(`${flag} must be a duration like 600, 600s, 1500ms, 10m or 1h; got "${value}"`, "usage");
  return ms;
}
