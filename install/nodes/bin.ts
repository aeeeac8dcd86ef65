#!/usr/bin/env node
/**
 * `node install/nodes/bin.ts [--config FILE] [--dir DIR] [--python PY] [--skip-pip] [--dry-run]`
 * One line per node. Exit codes: 0 all installed, 1 some nodes failed, 2 usage or list error.
 */
import { parseArgs } from "node:util";
import { DEFAULT_NODE_LIST, DEFAULT_NODES_DIR, DEFAULT_PYTHON, installCustomNodes, NodeListError, type NodeOutcome } from "./index.ts";

const USAGE = `Usage: node install/nodes/bin.ts [options]

Clones or updates the ComfyUI custom nodes in the list and pip-installs their requirements.

  --config FILE   the list: one git URL per line, optional @tag or @commit (default ${DEFAULT_NODE_LIST})
  --dir DIR       ComfyUI's custom_nodes folder (default ${DEFAULT_NODES_DIR})
  --python PY     the venv's python, used for pip (default ${DEFAULT_PYTHON})
  --skip-pip      do not install requirements.txt files
  --dry-run       say what would be cloned or updated; change nothing
  -h, --help      this text

Exit codes: 0 all good, 1 some nodes failed, 2 usage/list error.`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", default: DEFAULT_NODE_LIST },
        dir: { type: "string", default: DEFAULT_NODES_DIR },
        python: { type: "string", default: DEFAULT_PYTHON },
        "skip-pip": { type: "boolean", default: false },
        "dry-run": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const print = (outcome: NodeOutcome) => {
    const label = { ok: "ok    ", failed: "FAILED", planned: "plan  " }[outcome.status];
    (outcome.status === "failed" ? console.error : console.log)(`${label} ${outcome.node.name}: ${outcome.message}`);
  };
  try {
    const { outcomes, ok } = await installCustomNodes(
      { config: values.config, dir: values.dir, python: values.python, skipPip: values["skip-pip"], dryRun: values["dry-run"] },
      print,
    );
    const failed = outcomes.filter((o) => o.status === "failed");
    console.log(`custom nodes: ${outcomes.length - failed.length} of ${outcomes.length} ${values["dry-run"] ? "planned" : "ready"}${failed.length ? `, ${failed.length} failed: ${failed.map((o) => o.node.name).join(", ")}` : ""}`);
    return ok ? 0 : 1;
  } catch (error) {
    if (error instanceof NodeListError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
