import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, expect, test } from "vitest";
import { startProxy, type CuttableProxy } from "./proxy.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function echoThroughProxy(): Promise<{ proxy: CuttableProxy; open: () => Promise<Socket> }> {
  const server = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const proxy = await startProxy((server.address() as AddressInfo).port);
  cleanups.push(() => proxy.close(), () => new Promise<void>((r) => server.close(() => r())));
  const port = Number(new URL(proxy.url).port);
  const open = () => new Promise<Socket>((resolve) => {
    const s = connect(port, "127.0.0.1", () => resolve(s));
    cleanups.push(() => void s.destroy());
  });
  return { proxy, open };
}

const reply = (s: Socket, text: string, waitMs: number) =>
  new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    s.once("data", (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString());
    });
    s.write(text);
  });

test("a stalled link drops bytes both ways but stays open; a new connection passes", async () => {
  const { proxy, open } = await echoThroughProxy();
  const first = await open();
  expect(await reply(first, "before", 5_000)).toBe("before");
  expect(proxy.stall()).toBe(1);
  let closed = false;
  first.on("close", () => (closed = true));
  expect(await reply(first, "during", 300)).toBeNull();
  expect(closed).toBe(false);
  const second = await open();
  expect(await reply(second, "fresh", 5_000)).toBe("fresh");
});
