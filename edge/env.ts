import { z } from "zod";
import { modelCatalogFromText } from "../shared/model-catalog/catalog.ts";
import type { JobQueue } from "./queue/JobQueue.ts";

/** Bindings and vars as wrangler.toml and secrets provide them. */
export interface Env {
  JOB_QUEUE: DurableObjectNamespace<JobQueue>;
  FILES: R2Bucket;
  /** Workers Static Assets: the playground and the API reference, built from web/ by scripts/build-web.ts. */
  ASSETS: Fetcher;
  PUBLIC_URL: string;
  SIGNING_KEY: string;
  API_KEYS: string;
  RETENTION_DAYS?: string;
  MAX_ATTEMPTS?: string;
  LEASE_TTL_MS?: string;
  MAX_QUEUED_PER_KEY?: string;
  MAX_QUEUE_DEPTH?: string;
  MAX_BODY_BYTES?: string;
  MAX_GRAPH_NODES?: string;
  MAX_UPLOAD_BYTES?: string;
  LINK_TTL_S?: string;
  RATE_LIMIT_PER_MIN?: string;
  ALLOW_HTTP_WEBHOOKS?: string;
  WEBHOOK_ALLOW_HOSTS?: string;
  WEBHOOK_BACKOFF_MS?: string;
  WEBHOOK_DNS_RESOLVER?: string;
  MAX_INPUT_PIXELS?: string;
  MAX_UPLOADS_PER_KEY?: string;
  MAX_UPLOAD_BYTES_PER_KEY?: string;
  UPLOAD_TTL_S?: string;
  RUN_TIMEOUT_GRACE_MS?: string;
  QUARANTINE_BACKOFF_MS?: string;
  MAX_WAIT_S?: string;
  MODEL_CATALOG_INI?: string;
  MODEL_FETCH_TIMEOUT_S?: string;
}

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `must be an integer in ${min}..${max}, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const ConfigSchema = z.object({
  PUBLIC_URL: z.string().url().transform((u) => u.replace(/\/+$/, "")),
  SIGNING_KEY: z.string().min(16, "must be at least 16 characters (use a long random secret)"),
  RETENTION_DAYS: int(7, 1, 3650),
  MAX_ATTEMPTS: int(3, 1, 20),
  LEASE_TTL_MS: int(30_000, 1_000, 3_600_000),
  /** How long past a workflow's timeout_s a running attempt may go before the edge fails it (the agent stops it at timeout_s). */
  RUN_TIMEOUT_GRACE_MS: int(10_000, 0, 3_600_000),
  /** A quarantined rig's first back-off before its probe job; doubles with each quarantine, up to 32×. */
  QUARANTINE_BACKOFF_MS: int(60_000, 100, 3_600_000),
  /** A queued job no connected agent can run (its models) fails after this long with `no_capable_agent`. */
  MAX_WAIT_S: int(3600, 1, 30 * 86_400),
  /** The catalog of models rigs may fetch on demand, as models.ini text; empty: the bundled install/configs/models.ini. */
  MODEL_CATALOG_INI: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const problems = v ? modelCatalogFromText(v).problems : [];
      if (problems.length) {
        ctx.addIssue({ code: "custom", message: `is not a usable models.ini: ${problems.slice(0, 5).map((p) => p.message).join("; ")}` });
        return z.NEVER;
      }
      return v ?? "";
    }),
  /** A model fetch with no `fetch_result` after this long counts as failed (the edge tries another rig once). */
  MODEL_FETCH_TIMEOUT_S: int(3600, 1, 7 * 86_400),
  MAX_QUEUED_PER_KEY: int(1000, 1, 1_000_000),
  MAX_QUEUE_DEPTH: int(100_000, 1, 10_000_000),
  MAX_BODY_BYTES: int(256 * 1024, 1024, 16 * 1024 * 1024),
  /** Most nodes a raw graph (`graph` on a submit) may have. */
  MAX_GRAPH_NODES: int(500, 1, 100_000),
  MAX_UPLOAD_BYTES: int(50 * 1024 * 1024, 1024, 5 * 1024 * 1024 * 1024),
  /** Largest input image, in pixels (width × height, read from its header at upload); default 4096×4096. */
  MAX_INPUT_PIXELS: int(4096 * 4096, 1, 1_000_000_000),
  /** Per key: uploads kept at once, and their total bytes. */
  MAX_UPLOADS_PER_KEY: int(1000, 1, 10_000_000),
  MAX_UPLOAD_BYTES_PER_KEY: int(2 * 1024 * 1024 * 1024, 1024, 1024 * 1024 * 1024 * 1024),
  /** An upload no unexpired job holds is deleted this long after it was made. */
  UPLOAD_TTL_S: int(86_400, 1, 365 * 86_400),
  LINK_TTL_S: int(3600, 10, 7 * 24 * 3600),
  RATE_LIMIT_PER_MIN: int(600, 1, 1_000_000),
  ALLOW_HTTP_WEBHOOKS: z.enum(["true", "false"]).optional().transform((v) => v === "true"),
  WEBHOOK_ALLOW_HOSTS: z
    .string()
    .optional()
    .transform((v) => (v ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean)),
  /** DNS-over-HTTPS (JSON) endpoint that webhook host names are resolved with before each attempt; "" skips resolution. */
  WEBHOOK_DNS_RESOLVER: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === "") return null;
      const url = v ?? "https://cloudflare-dns.com/dns-query";
      if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
        ctx.addIssue({ code: "custom", message: `must be an http(s) URL of a DNS-over-HTTPS JSON endpoint, or empty; got "${url}"` });
        return z.NEVER;
      }
      return url;
    }),
  /** Delays between webhook attempts; one more attempt than entries (default: 6 attempts over ~61 min). */
  WEBHOOK_BACKOFF_MS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v || "30000,120000,480000,1200000,1800000").split(",").map((x) => Number(x.trim()));
      if (list.some((n) => !Number.isInteger(n) || n < 0)) {
        ctx.addIssue({ code: "custom", message: "must be a comma-separated list of non-negative integers (ms)" });
        return z.NEVER;
      }
      return list;
    }),
});
export type Config = z.infer<typeof ConfigSchema>;

let cached: { source: Env; config: Config } | undefined;

/** Parses vars once per isolate; a bad var names itself in the thrown message. */
export function configOf(env: Env): Config {
  if (cached?.source === env) return cached.config;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`comfy-edge is misconfigured: ${problems}`);
  }
  cached = { source: env, config: parsed.data };
  return parsed.data;
}
