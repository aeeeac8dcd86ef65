#!/usr/bin/env node
import { EXIT_CODES, isCLIError } from "./cli-error.ts";
import { parseCli, USAGE } from "./config.ts";
import { agentVersion } from "./identity.ts";
import { startAgent } from "./main.ts";

async function main(): Promise<number> {
  const command = parseCli(process.argv.slice(2), process.env);
  if (command.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.kind === "version") {
    process.stdout.write(`${await agentVersion()}\n`);
    return 0;
  }
  const agent = await startAgent(command.config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      void agent.stop(`received ${signal}`);
      return;
    }
    // A second signal means "now": no grace, but still no orphaned ComfyUI.
    agent.kill();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await agent.done;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (isCLIError(e)) {
      process.stderr.write(`comfy-agent: ${e.message}\n`);
      process.exit(EXIT_CODES[e.code]);
    }
    process.stderr.write(`comfy-agent: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(EXIT_CODES.internal);
  },
);
