import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { ensureCheckout, type CheckoutResult } from "./checkout.ts";
import { parseNodeList, type NodeListProblem, type NodeSpec } from "./list.ts";
import { installRequirements, type RequirementsResult } from "./requirements.ts";

export type { NodeSpec } from "./list.ts";

export const DEFAULT_NODE_LIST = "install/configs/custom_nodes.txt";
export const DEFAULT_NODES_DIR = "ComfyUI/custom_nodes";
export const DEFAULT_PYTHON = "venv/bin/python";

export const InstallNodesOptionsSchema = z.object({
  config: z.string().min(1).default(DEFAULT_NODE_LIST).describe("custom_nodes.txt path"),
  listText: z.string().optional().describe("custom_nodes.txt content; used instead of reading `config`"),
  dir: z.string().min(1).default(DEFAULT_NODES_DIR).describe("ComfyUI's custom_nodes folder"),
  python: z.string().min(1).default(DEFAULT_PYTHON).describe("The venv's python, for pip"),
  skipPip: z.boolean().default(false).describe("Do not install the nodes' requirements.txt"),
  dryRun: z.boolean().default(false).describe("Say what would be cloned or updated; touch nothing"),
  cwd: z.string().optional(),
});
export type InstallNodesOptions = z.input<typeof InstallNodesOptionsSchema>;

export type NodeOutcome = {
  node: NodeSpec;
  path: string;
  status: "ok" | "failed" | "planned";
  /** One line a person can read: what happened, or what went wrong and what to do. */
  message: string;
  checkout: CheckoutResult | null;
  requirements: RequirementsResult | null;
  error: { code: string; message: string } | null;
};

/** The list cannot be used: exit code 2, nothing touched. */
export class NodeListError extends Error {
  override readonly name = "NodeListError";
  readonly code: "list_not_found" | "list_invalid" | "bad_option";
  readonly problems: readonly NodeListProblem[];
  constructor(code: NodeListError["code"], message: string, problems: readonly NodeListProblem[] = []) {
    super(message);
    this.code = code;
    this.problems = problems;
  }
}

/**
 * Clones (or moves to the pinned ref) every node in the list and installs its requirements into
 * the venv, one node at a time (pip in one venv must not run twice at once). Per-node failures
 * come back as values; a bad list throws `NodeListError` before anything is touched.
 */
export async function installCustomNodes(options: InstallNodesOptions = {}, onOutcome?: (outcome: NodeOutcome) => void): Promise<{ outcomes: NodeOutcome[]; ok: boolean }> {
  const parsed = InstallNodesOptionsSchema.safeParse(options);
  if (!parsed.success) throw new NodeListError("bad_option", `bad option: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const opts = parsed.data;
  const cwd = opts.cwd ?? process.cwd();
  const text = opts.listText ?? (await readList(path.resolve(cwd, opts.config)));
  const { nodes, problems } = parseNodeList(text);
  if (problems.length > 0) {
    throw new NodeListError("list_invalid", `${opts.config} has ${problems.length} bad line${problems.length === 1 ? "" : "s"}:\n${problems.map((p) => `  ${p.message}`).join("\n")}`, problems);
  }

  const dir = path.resolve(cwd, opts.dir);
  const python = opts.python.includes("/") ? path.resolve(cwd, opts.python) : opts.python;
  if (!opts.dryRun) await mkdir(dir, { recursive: true });
  const outcomes: NodeOutcome[] = [];
  for (const node of nodes) {
    const target = path.join(dir, node.name);
    const outcome = opts.dryRun ? plan(node, target) : await installOne(node, target, python, opts.skipPip);
    outcomes.push(outcome);
    onOutcome?.(outcome);
  }
  return { outcomes, ok: outcomes.every((o) => o.status !== "failed") };
}

async function installOne(node: NodeSpec, target: string, python: string, skipPip: boolean): Promise<NodeOutcome> {
  let checkout: CheckoutResult | null = null;
  try {
    checkout = await ensureCheckout(node.url, node.ref, target);
    const requirements = await installRequirements(target, python, skipPip);
    return { node, path: target, status: "ok", message: describe(node, checkout, requirements), checkout, requirements, error: null };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = "code" in err && typeof err.code === "string" ? err.code : "failed";
    return { node, path: target, status: "failed", message: err.message, checkout, requirements: null, error: { code, message: err.message } };
  }
}

function plan(node: NodeSpec, target: string): NodeOutcome {
  const at = node.ref === null ? "the default branch" : node.ref;
  const message = existsSync(target) ? `would update ${target} to ${at}` : `would clone ${node.url} at ${at} into ${target}`;
  return { node, path: target, status: "planned", message, checkout: null, requirements: null, error: null };
}

function describe(node: NodeSpec, checkout: CheckoutResult, requirements: RequirementsResult): string {
  const short = (sha: string | null) => (sha ?? "").slice(0, 8);
  const at = node.ref === null ? short(checkout.after) : `${node.ref} (${short(checkout.after)})`;
  const what =
    checkout.action === "cloned" ? `cloned at ${at}` : checkout.action === "updated" ? `updated ${short(checkout.before)} -> ${at}` : `unchanged at ${at}`;
  const reqs = { none: "no requirements.txt", installed: "requirements installed", already_installed: "requirements already installed", skipped: "requirements skipped (--skip-pip)" }[requirements];
  return `${what}; ${reqs}`;
}

async function readList(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new NodeListError("list_not_found", `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"}); pass --config <file>`);
  }
}
