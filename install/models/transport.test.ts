import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { startCountingProxy } from "../../agent/testing/connect-proxy.ts";
import { downloadModels, type DownloadModelsOptions, type FileOutcome } from "./index.ts";

let dir: string;
const closers: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "models-transport-"));
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `files` by path and counts connections. */
async function files(served: Record<string, string>): Promise<{ hostPort: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createHttpServer((req, res) => {
    const body = served[req.url ?? ""];
    res.writeHead(body === undefined ? 404 : 200, { "content-length": String(body?.length ?? 0) });
    res.end(body ?? "");
  });
  server.on("connection", () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { hostPort: `127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

async function one(config: string, extra: Partial<DownloadModelsOptions>): Promise<FileOutcome> {
  const summary = await downloadModels({ configText: config, dest: path.join(dir, "models"), token: null, attempts: 1, retryDelayMs: 1, cwd: dir, ...extra });
  expect(summary.outcomes).toHaveLength(1);
  return summary.outcomes[0] as FileOutcome;
}

describe("the installer's HTTP client", () => {
  test("goes through HTTP_PROXY from its env, one tunnel for every file of a host; NO_PROXY sends a host direct", async () => {
    const server = await files({ "/a.bin": "aaaa", "/b.bin": "bbbbbb" });
    const proxy = await startCountingProxy({ "models.invalid:80": server.hostPort });
    closers.push(() => proxy.close());
    const config = "[loras]\n_ = http://models.invalid/a.bin\n_ = http://models.invalid/b.bin\n";

    const summary = await downloadModels({ configText: config, dest: path.join(dir, "models"), token: null, attempts: 1, concurrency: 1, cwd: dir, env: { HTTP_PROXY: proxy.url } });
    expect(summary.outcomes.map((o) => o.status)).toEqual(["downloaded", "downloaded"]);
    expect(readFileSync(path.join(dir, "models/loras/b.bin"), "utf8")).toBe("bbbbbb");
    expect(proxy.targets).toEqual(["models.invalid:80"]);

    // `*.invalid` never resolves: sent direct, it fails at the lookup, and the proxy sees nothing more.
    const direct = await one("[loras]\n_ = http://models.invalid/c.bin\n", { env: { HTTP_PROXY: proxy.url, NO_PROXY: "models.invalid" } });
    expect(direct).toMatchObject({ status: "failed", failure: { code: "network", retryable: true } });
    expect(proxy.targets).toEqual(["models.invalid:80"]);
  });

  test("a refused connection and a server that accepts but never answers are retryable network failures", async () => {
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const refusedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await one("[x]\n_ = https://mirror.example/m.bin\n", { hostMap: { "mirror.example": `http://127.0.0.1:${refusedPort}` } });
    expect(refused).toMatchObject({ status: "failed", failure: { code: "network", retryable: true } });
    if (refused.status === "failed") expect(refused.failure.message).toContain("ECONNREFUSED");

    const sockets = new Set<Socket>();
    const silent = createTcpServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), silent.close(r))));
    const hostMap = { "mirror.example": `http://127.0.0.1:${(silent.address() as AddressInfo).port}` };
    const stalled = await one("[x]\n_ = https://mirror.example/m.bin\n", { hostMap, idleTimeoutMs: 300 });
    expect(stalled).toMatchObject({ status: "failed", failure: { code: "network", message: "no data from mirror.example for 300 ms", retryable: true } });
    expect(sockets.size).toBe(1);
  });
});
