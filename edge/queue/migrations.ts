/**
 * Versioned schema migrations for the JobQueue's SQLite storage. Append only: each entry
 * runs once, in order, inside a transaction, and bumps `meta.schema_version`.
 */
export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
    `CREATE TABLE jobs (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      owner TEXT NOT NULL,
      workflow_id TEXT NOT NULL,
      pool TEXT NOT NULL,
      state TEXT NOT NULL,
      priority INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      max_attempts INTEGER NOT NULL,
      params TEXT NOT NULL,
      graph TEXT NOT NULL,
      models TEXT NOT NULL,
      models_sig TEXT NOT NULL,
      inputs TEXT NOT NULL DEFAULT '[]',
      seed INTEGER,
      output_format TEXT NOT NULL,
      quality INTEGER NOT NULL,
      timeout_s INTEGER NOT NULL,
      lease_id TEXT,
      lease_expires INTEGER,
      agent_id TEXT,
      progress TEXT,
      outputs TEXT,
      error TEXT,
      created_at INTEGER NOT NULL,
      enqueued_at INTEGER NOT NULL,
      started_at INTEGER,
      finished_at INTEGER,
      expires_at INTEGER,
      idem_key TEXT,
      idem_hash TEXT,
      webhook_url TEXT,
      webhook TEXT,
      webhook_next_at INTEGER
    )`,
    `CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE state = 'queued'`,
    `CREATE INDEX jobs_active ON jobs (lease_expires) WHERE state IN ('leased', 'running')`,
    `CREATE INDEX jobs_agent ON jobs (agent_id) WHERE state IN ('leased', 'running')`,
    `CREATE INDEX jobs_expiry ON jobs (expires_at) WHERE expires_at IS NOT NULL`,
    `CREATE INDEX jobs_owner_queued ON jobs (owner) WHERE state = 'queued'`,
    `CREATE UNIQUE INDEX jobs_idem ON jobs (owner, idem_key) WHERE idem_key IS NOT NULL`,
    `CREATE INDEX jobs_webhook ON jobs (webhook_next_at) WHERE webhook_next_at IS NOT NULL`,
    `CREATE TABLE model_sets (sig TEXT PRIMARY KEY, models TEXT NOT NULL)`,
    `CREATE TABLE agents (
      agent_id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      version TEXT NOT NULL,
      capacity INTEGER NOT NULL,
      prefetch INTEGER NOT NULL,
      inventory TEXT NOT NULL,
      gpu TEXT,
      accepting INTEGER NOT NULL DEFAULT 1,
      last_model TEXT,
      connected_at INTEGER NOT NULL,
      last_seen INTEGER NOT NULL
    )`,
    `CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
  ],
  // The request params and the compiled graph move out of the job row: SQLite reads a row's
  // columns in order and rewrites the whole record on UPDATE, so with kilobytes of graph in
  // front of them every state transition and status read paid for the graph. Only the jobs
  // that can still change move (bounded by the queue caps, so the migration stays short on a
  // big table); finished rows keep theirs until retention deletes them. The old columns stay
  // (NOT NULL; new rows hold '' there): dropping them would rewrite the whole table.
  [
    `CREATE TABLE job_payloads (seq INTEGER PRIMARY KEY, params TEXT NOT NULL, graph TEXT NOT NULL)`,
    `INSERT INTO job_payloads (seq, params, graph) SELECT seq, params, graph FROM jobs WHERE state IN ('queued', 'leased', 'running')`,
    `UPDATE jobs SET params = '', graph = '' WHERE state IN ('queued', 'leased', 'running')`,
  ],
  // Timeouts that hold and outputs the edge itself accepted: a running attempt's deadline
  // (run start + timeout_s + grace), the job's count of timed-out attempts and how many of
  // those it may retry, and the output keys each lease actually uploaded.
  [
    `ALTER TABLE jobs ADD COLUMN run_deadline INTEGER`,
    `ALTER TABLE jobs ADD COLUMN timeouts INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE jobs ADD COLUMN retry_on_timeout INTEGER NOT NULL DEFAULT 1`,
    `CREATE INDEX jobs_run_deadline ON jobs (run_deadline) WHERE state = 'running'`,
    `CREATE TABLE lease_uploads (
      key TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      lease_id TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      content_type TEXT NOT NULL
    )`,
    `CREATE INDEX lease_uploads_job ON lease_uploads (job_id, lease_id)`,
  ],
  // Gray failures: fair share between keys within a priority (a start tag per job, see
  // fair-share.ts; both queue indexes order by it), the key an agent id is bound to, each
  // rig's health record (quarantine, probe, proof of life), and the attempts each job lost
  // on which rig (refunded if that rig is quarantined).
  [
    `ALTER TABLE jobs ADD COLUMN fair_tag INTEGER NOT NULL DEFAULT 0`,
    `DROP INDEX jobs_queue`,
    `CREATE INDEX jobs_queue ON jobs (priority DESC, fair_tag, seq) WHERE state = 'queued'`,
    `DROP INDEX jobs_owner_queued`,
    `CREATE INDEX jobs_owner_queued ON jobs (owner, priority, fair_tag) WHERE state = 'queued'`,
    `ALTER TABLE agents ADD COLUMN agent_key TEXT`,
    `CREATE TABLE agent_health (
      agent_id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      streak INTEGER NOT NULL,
      strikes INTEGER NOT NULL,
      reason TEXT,
      since INTEGER,
      until INTEGER,
      probe_job TEXT,
      unproven_since INTEGER,
      recent TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`,
    `CREATE TABLE attempt_failures (job_id TEXT NOT NULL, agent_id TEXT NOT NULL, at INTEGER NOT NULL)`,
    `CREATE INDEX attempt_failures_agent ON attempt_failures (agent_id)`,
  ],
  // Client uploads on record (edge/uploads/registry.ts): owner, size and dimensions for the
  // per-key quota and the pixel budget, a TTL, and how many unexpired jobs hold each one.
  // Only the uploads registry object fills it; in the pool queues it stays empty.
  [
    `CREATE TABLE input_uploads (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      bytes INTEGER NOT NULL,
      content_type TEXT NOT NULL,
      width INTEGER NOT NULL,
      height INTEGER NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      refs INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX input_uploads_owner ON input_uploads (owner)`,
    `CREATE INDEX input_uploads_due ON input_uploads (expires_at) WHERE refs = 0`,
  ],
  // Why an agent takes no jobs, in its own words (`pause.reason`: its ComfyUI is unreachable, it drains).
  [`ALTER TABLE agents ADD COLUMN pause_reason TEXT`],
  // Per-workflow output limits: how many files a job may deliver (the manifest's `max_outputs`)
  // and how many its graph made beyond that, which the agent dropped and the task view reports.
  // And since when no connected agent could run a model set (its queued jobs fail after MAX_WAIT_S).
  [
    `ALTER TABLE jobs ADD COLUMN max_outputs INTEGER NOT NULL DEFAULT 64`,
    `ALTER TABLE jobs ADD COLUMN outputs_dropped INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE model_sets ADD COLUMN hopeless_since INTEGER`,
  ],
  // GET /v1/jobs walks a key's jobs (or everyone's) newest first; and how many times a running
  // job was handed back because its ComfyUI went away (past a few, a hand-back costs an attempt);
  // the batch (`count` on a submit) a job was made in; and what the edge learnt of each output
  // as it stored it (its SHA-256 and, for images, its dimensions).
  [
    `CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC, id DESC)`,
    `CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC)`,
    `ALTER TABLE jobs ADD COLUMN handbacks INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE jobs ADD COLUMN batch_id TEXT`,
    `CREATE INDEX jobs_batch ON jobs (batch_id, seq) WHERE batch_id IS NOT NULL`,
    `ALTER TABLE lease_uploads ADD COLUMN sha256 TEXT`,
    `ALTER TABLE lease_uploads ADD COLUMN width INTEGER`,
    `ALTER TABLE lease_uploads ADD COLUMN height INTEGER`,
    `ALTER TABLE jobs ADD COLUMN previews INTEGER NOT NULL DEFAULT 0`,
  ],
  // Node-aware routing (#15): a requirements signature names node classes too (older sets: none);
  // each agent's node catalog is kept once per digest, the agent row names its digest and ComfyUI version.
  [
    `ALTER TABLE model_sets ADD COLUMN nodes TEXT NOT NULL DEFAULT '[]'`,
    `CREATE TABLE node_catalogs (digest TEXT PRIMARY KEY, classes TEXT NOT NULL)`,
    `ALTER TABLE agents ADD COLUMN nodes_digest TEXT`,
    `ALTER TABLE agents ADD COLUMN comfyui_version TEXT`,
  ],
  // Raw graphs (#15): the SHA-256 of the graph a job runs (older jobs: none). A raw graph's job
  // has no workflow: its workflow_id is '' (the column is NOT NULL), which views show as null.
  [`ALTER TABLE jobs ADD COLUMN graph_sha256 TEXT`],
  // Models on demand (#15): what each agent can do about fetching (its model store: free disk,
  // budget, what it fetched), every fetch the edge asked for (one per model per agent at a time,
  // kept through hibernation; `open` failures count towards giving up on a model), and how long
  // a job waited on fetches for the agent that then ran it.
  [
    `ALTER TABLE agents ADD COLUMN model_store TEXT`,
    `CREATE TABLE model_fetches (
      fetch_id TEXT PRIMARY KEY,
      model TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      state TEXT NOT NULL,
      bytes INTEGER NOT NULL DEFAULT 0,
      total INTEGER,
      started_at INTEGER NOT NULL,
      deadline INTEGER NOT NULL,
      finished_at INTEGER,
      error TEXT,
      open INTEGER NOT NULL DEFAULT 1
    )`,
    `CREATE INDEX model_fetches_active ON model_fetches (model, agent_id) WHERE state = 'fetching'`,
    `CREATE INDEX model_fetches_agent ON model_fetches (agent_id, finished_at)`,
    `ALTER TABLE jobs ADD COLUMN fetch_ms INTEGER`,
  ],
];

/** Brings the schema to `target` (default: the newest); returns the version reached. */
export function migrate(storage: DurableObjectStorage, target = MIGRATIONS.length): number {
  const sql = storage.sql;
  sql.exec(`CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  const row = sql.exec<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`).toArray()[0];
  let version = row ? Number(row.value) : 0;
  while (version < target) {
    const steps = MIGRATIONS[version]!;
    storage.transactionSync(() => {
      for (const step of steps) {
        if (version === 0 && step.startsWith("CREATE TABLE meta")) continue;
        sql.exec(step);
      }
      sql.exec(`INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)`, String(version + 1));
    });
    version++;
  }
  return version;
}
