/** Keys and vars the edge's Workers-pool tests run with (wrangler.toml supplies the rest). */
export const TEST_KEYS = {
  alice: "test-client-key-alice-0000000001",
  bob: "test-client-key-bob-00000000000002",
  agent: "test-agent-key-000000000000000003",
  admin: "test-admin-key-000000000000000004",
  carol: "test-client-key-carol-000000000005",
} as const;

/** A second agent key (another rig owner), outside TEST_KEYS so the auth matrix's roles stay as they are. */
export const OTHER_AGENT_KEY = "test-agent-key-b-0000000000000006";

/** Client keys that one test file each uses alone, so other files' queues and rate limits never reach them. */
export const LISTER_KEY = "test-client-key-lister-00000000007";
export const WAITER_KEY = "test-client-key-waiter-00000000008";
/** A client key with `"raw": true` (raw graphs), used by the raw-graph tests alone. */
export const RAW_KEY = "test-client-key-raw-000000000000009";

export const TEST_BINDINGS: Record<string, string> = {
  PUBLIC_URL: "http://edge.test",
  SIGNING_KEY: "test-signing-key-0123456789abcdef",
  API_KEYS: JSON.stringify([
    { name: "alice", role: "client", key: TEST_KEYS.alice },
    { name: "bob", role: "client", key: TEST_KEYS.bob },
    { name: "carol", role: "client", key: TEST_KEYS.carol },
    { name: "rig", role: "agent", key: TEST_KEYS.agent },
    { name: "rig-b", role: "agent", key: OTHER_AGENT_KEY },
    { name: "lister", role: "client", key: LISTER_KEY },
    { name: "waiter", role: "client", key: WAITER_KEY },
    { name: "raw-user", role: "client", key: RAW_KEY, raw: true },
    // Stored as a hash only, as production may do (sha256 of TEST_KEYS.admin).
    { name: "ops", role: "admin", sha256: "380d165172c12ab3cfd2ec9ca68b77fdb3cc5d1e4ef178e425ea1708c8e721dd" },
  ]),
  LEASE_TTL_MS: "2000",
  RUN_TIMEOUT_GRACE_MS: "300",
  // A quarantined rig's probe comes after 1 s, not a minute.
  QUARANTINE_BACKOFF_MS: "1000",
  MAX_QUEUED_PER_KEY: "100",
  RATE_LIMIT_PER_MIN: "100000",
  WEBHOOK_BACKOFF_MS: "10,10,10,10,10",
  ALLOW_HTTP_WEBHOOKS: "false",
};
