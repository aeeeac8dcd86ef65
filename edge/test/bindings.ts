/** Keys and vars the edge's Workers-pool tests run with (wrangler.toml supplies the rest). */
export const TEST_KEYS = {
  alice: "test-client-key-alice-0000000001",
  bob: "test-client-key-bob-00000000000002",
  agent: "test-agent-key-000000000000000003",
  admin: "test-admin-key-000000000000000004",
} as const;

export const TEST_BINDINGS: Record<string, string> = {
  PUBLIC_URL: "http://edge.test",
  SIGNING_KEY: "test-signing-key-0123456789abcdef",
  API_KEYS: JSON.stringify([
    { name: "alice", role: "client", key: TEST_KEYS.alice },
    { name: "bob", role: "client", key: TEST_KEYS.bob },
    { name: "rig", role: "agent", key: TEST_KEYS.agent },
    // Stored as a hash only, as production may do.
    { name: "ops", role: "admin", key: TEST_KEYS.admin },
  ]),
  LEASE_TTL_MS: "2000",
  MAX_QUEUED_PER_KEY: "50",
  RATE_LIMIT_PER_MIN: "100000",
  WEBHOOK_BACKOFF_MS: "10,10,10,10,10",
  ALLOW_HTTP_WEBHOOKS: "false",
};
