#!/usr/bin/env node
import { EXIT_CODES } from "./cli-error.ts";
import { ensureGlobalWebSocket } from "./global-websocket.ts";
import { main } from "./main.ts";

await ensureGlobalWebSocket();

// First Ctrl-C: abort the command, which cancels its job and exits 130. A second one: leave now.
const interrupt = new AbortController();
process.on("SIGINT", () => {
  if (interrupt.signal.aborted) process.exit(EXIT_CODES.interrupted);
  interrupt.abort();
});

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, interrupt: interrupt.signal });
process.exitCode = code;
// Exit on our own if a stray handle (a half-open socket) would keep the process alive.
setTimeout(() => process.exit(code), 2000).unref();
