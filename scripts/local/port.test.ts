import { createServer, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { assertPortFree, isAddressInUse, PortInUseError } from "./port.ts";

const listen = () =>
  new Promise<Server>((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });

describe("assertPortFree", () => {
  it("passes for a free port and refuses a taken one with the advice to set PORT or --port", async () => {
    const srv = await listen();
    const port = (srv.address() as { port: number }).port;
    try {
      const refused = await assertPortFree("127.0.0.1", port).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(PortInUseError);
      expect((refused as Error).message).toBe(`port ${port} is in use; set PORT=… (or --port …) to another port, or 0 for any free one`);
    } finally {
      await new Promise((r) => srv.close(r));
    }
    await expect(assertPortFree("127.0.0.1", port)).resolves.toBeUndefined();
  });

  it("recognises Node's and Miniflare's address-in-use errors", () => {
    expect(isAddressInUse(Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" }))).toBe(true);
    expect(isAddressInUse(Object.assign(new Error("Address already in use (127.0.0.1:8787)"), { code: "ERR_ADDRESS_IN_USE" }))).toBe(true);
    expect(isAddressInUse(new Error("The Workers runtime failed to start"))).toBe(false);
  });
});
