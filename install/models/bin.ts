#!/usr/bin/env node
/**
 * `npm run models -- [--config FILE] [--dest DIR] [--concurrency N] [--dry-run]`
 * Exit codes: 0 all files in place, 1 some downloads failed, 2 usage or config error, 130 interrupted.
 */
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG, DEFAULT_DEST, downloadModels, ModelsConfigError, type DownloadSummary } from "./index.ts";
import { plainReporter } from "./report-plain.ts";
import { ttyReporter } from "./report-tty.ts";

const USAGE = `Usage: npm run models -- [options]

Downloads the models listed in models.ini into ComfyUI's models folder.

  --config FILE       models.ini to read (default ${DEFAULT_CONFIG})
  --dest DIR          models folder; [section] names are subfolders (default ${DEFAULT_DEST})
  --concurrency N     files downloaded at once (default 4)
  --attempts N        tries per file before giving up (default 5)
  --dry-run           list the files that would be written, write nothing
  --host-map H=URL    connect to URL's origin for host H (a mirror); repeatable
  -h, --help          this text

HUGGINGFACE_TOKEN (environment or ./.env) is sent to Hugging Face hosts only.
Exit codes: 0 all good, 1 some downloads failed, 2 usage/config error.`;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string", default: DEFAULT_CONFIG },
        dest: { type: "string", default: DEFAULT_DEST },
        concurrency: { type: "string", default: "4" },
        attempts: { type: "string", default: "5" },
        "dry-run": { type: "boolean", default: false },
        "host-map": { type: "string", multiple: true, default: [] },
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
  const concurrency = positiveInt(values.concurrency, "--concurrency");
  const attempts = positiveInt(values.attempts, "--attempts");
  const hostMap = parseHostMap(values["host-map"]);
  for (const problem of [concurrency, attempts, hostMap]) {
    if (typeof problem === "string") {
      console.error(`${problem}\n\n${USAGE}`);
      return 2;
    }
  }

  const tty = process.stderr.isTTY === true && !values["dry-run"];
  const bars = tty ? ttyReporter(process.stderr) : null;
  const reporter = bars ?? plainReporter((line) => console.log(line));
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);

  let summary: DownloadSummary;
  try {
    summary = await downloadModels({
      config: values.config,
      dest: values.dest,
      concurrency: concurrency as number,
      attempts: attempts as number,
      dryRun: values["dry-run"],
      hostMap: hostMap as Record<string, string>,
      events: {
        ...reporter,
        planned: (specs) => console.log(`models: ${specs.length} file${specs.length === 1 ? "" : "s"} from ${values.config} into ${values.dest}`),
      },
      signal: controller.signal,
    });
  } catch (error) {
    bars?.stop();
    if (error instanceof ModelsConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  bars?.stop();

  if (summary.dryRun) {
    for (const file of summary.planned) {
      const verb = file.onDisk === "complete" ? "up to date " : "would write";
      const extras = [file.revision === null ? null : `revision ${file.revision}`, file.sha256 === null ? null : "sha256 pinned", file.onDisk === "partial" ? "resumes a .part" : null];
      console.log(`${verb} ${file.path}  <- ${file.url}${extras.some((e) => e) ? `  (${extras.filter((e) => e).join(", ")})` : ""}`);
    }
    console.log("dry run: nothing was downloaded or written");
    return 0;
  }
  return report(summary, controller.signal.aborted);
}

function report(summary: DownloadSummary, interrupted: boolean): number {
  const count = (status: string) => summary.outcomes.filter((o) => o.status === status).length;
  console.log(`models: ${count("downloaded")} downloaded, ${count("up_to_date")} already complete, ${count("failed")} failed`);
  const failures = summary.outcomes.filter((o) => o.status === "failed");
  if (failures.length === 0) return 0;
  console.error("\nThese downloads failed:");
  for (const outcome of failures) console.error(`  ${outcome.relPath}: ${outcome.failure.message}`);
  console.error("\nFix the causes above and run again: finished files are kept and partial ones resume.");
  return interrupted ? 130 : 1;
}

function positiveInt(text: string, flag: string): number | string {
  const value = Number(text);
  return Number.isInteger(value) && value >= 1 ? value : `${flag} needs a whole number of 1 or more, got "${text}"`;
}

function parseHostMap(pairs: string[]): Record<string, string> | string {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    const origin = pair.slice(at + 1);
    if (at <= 0 || !URL.canParse(origin)) return `--host-map wants host=http(s)://origin, got "${pair}"`;
    map[pair.slice(0, at)] = origin;
  }
  return map;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
