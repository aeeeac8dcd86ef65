// The agent of a frozen-rig test in a process of its own (SIGSTOP freezes a whole process):
// the config arrives as JSON in CHAOS_AGENT_CONFIG; "connected" goes to stdout at each welcome.
import { startAgent } from "../agent/main.ts";
import type { AgentConfigInput } from "../agent/config.ts";

const config = JSON.parse(process.env.CHAOS_AGENT_CONFIG ?? "{}") as AgentConfigInput;
const agent = await startAgent(config);
const announce = (): void => {
  void agent.connectedOnce().then(() => {
    process.stdout.write("connected\n");
  });
};
announce();
process.on("SIGTERM", () => {
  void agent.stop("chaos: SIGTERM").finally(() => process.exit(0));
});
await agent.done;
process.exit(0);
