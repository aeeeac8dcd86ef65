/**
 * Node 20 has no global WebSocket (Node 22's is undici's). The SDK's events feed uses the
 * global, so the command that `npm link` installs, which runs on the system Node, brings
 * undici's when it is missing.
 */
export async function ensureGlobalWebSocket(): Promise<void> {
  if (typeof globalThis.WebSocket !== "undefined") return;
  const { WebSocket } = await import("undici");
  globalThis.WebSocket = WebSocket as unknown as typeof globalThis.WebSocket;
}
