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
