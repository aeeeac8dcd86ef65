import { createServer } from "node:net";

export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  readonly code = "port_in_use";
  readonly port: number;
  constructor(port: number) {
    super(`port ${port} is in use; set PORT=… (or --port …) to another port, or 0 for any free one`);
    this.port = port;
  }
}

/** Whether an error is a socket bind refused because the address is taken (Node's or workerd's, via Miniflare). */
export function isAddressInUse(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return err?.code === "EADDRINUSE" || err?.code === "ERR_ADDRESS_IN_USE" || /address already in use/i.test(String(err?.message ?? e));
}

/**
 * Throws PortInUseError if the port cannot be bound now, before workerd is started on it:
 * workerd reports a taken port with a raw fatal exception on stderr. Another process may
 * still take the port in between; the caller maps that failure to the same error.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (e) => reject(isAddressInUse(e) ? new PortInUseError(port) : e));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve()));
  });
}

/** A port the OS says is free now (another process may still take it before it is bound). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}
