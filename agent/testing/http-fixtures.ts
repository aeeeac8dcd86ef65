import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type StoredPut = { path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: Buffer };

/**
 * A small HTTP server for agent tests: stores PUTs (answering `{key}` like the edge does)
 * and serves fixed GET files.
 */
export async function startFixtureServer(files: Record<string, Buffer> = {}): Promise<{
  url: string;
  puts: StoredPut[];
  close: () => Promise<void>;
}> {
  const puts: StoredPut[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET") {
      const file = files[url.pathname];
      res.writeHead(file ? 200 : 404, { "content-type": "image/png" });
      res.end(file ?? "");
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      puts.push({ path: url.pathname, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ key: `r2${url.pathname}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
