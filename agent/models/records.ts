import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { pathsBeside } from "../../install/models/sidecar.ts";

/**
 * One model this agent fetched. `fetching` is written before the download starts, so a crash
 * between the file's rename into place and the `complete` record still leaves the file known
 * as fetched (evictable), not mistaken for one the operator installed.
 */
export const FetchedRecordSchema = z.object({
  folder: z.string().min(1),
  name: z.string().min(1),
  state: z.enum(["fetching", "complete"]),
  bytes: z.number().int().nonnegative().nullable(),
  fetched_at: z.number().int().nonnegative(),
  last_used: z.number().int().nonnegative(),
});
export type FetchedRecord = z.infer<typeof FetchedRecordSchema>;

const RecordsFileSchema = z.object({
  version: z.literal(1),
  /** The models folder these records are about; records for another one are ignored. */
  models_dir: z.string(),
  files: z.record(z.string(), FetchedRecordSchema),
});

/** `<state dir>/models-<agent name>.json`, one per agent name like its id file. */
export function recordsFile(stateDir: string, agentName: string): string {
  return path.join(stateDir, `models-${agentName.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`);
}

export type LoadedRecords = { records: Map<string, FetchedRecord>; dropped: string[] };

/**
 * The records kept from the last run, checked against the disk: a record whose file is gone is
 * dropped, and so is one whose file changed size (someone replaced it: it is theirs now). A
 * `fetching` record whose file is in place was finished; one whose file is absent leaves only its
 * `.part`, which is removed (it is counted nowhere). An unreadable file counts as no records.
 */
export async function loadRecords(file: string, modelsDir: string, fileOf: (r: FetchedRecord) => string | null): Promise<LoadedRecords> {
  const records = new Map<string, FetchedRecord>();
  const dropped: string[] = [];
  let parsed: z.infer<typeof RecordsFileSchema> | null = null;
  try {
    const result = RecordsFileSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
    parsed = result.success ? result.data : null;
  } catch {
    parsed = null;
  }
  if (!parsed || path.resolve(parsed.models_dir) !== path.resolve(modelsDir)) return { records, dropped };
  for (const [key, record] of Object.entries(parsed.files)) {
    const modelFile = fileOf(record);
    const onDisk = modelFile === null ? null : await stat(modelFile).then((s) => s.size, () => null);
    if (modelFile !== null && record.state === "fetching" && onDisk === null) {
      await removeDownloadLeftovers(modelFile);
      dropped.push(key);
    } else if (onDisk === null || (record.state === "complete" && record.bytes !== onDisk)) {
      dropped.push(key);
    } else {
      records.set(key, { ...record, state: "complete", bytes: onDisk });
    }
  }
  return { records, dropped };
}

/** Written to a temporary name and renamed, so a crash never leaves half a file. */
export async function saveRecords(file: string, modelsDir: string, records: ReadonlyMap<string, FetchedRecord>): Promise<void> {
  const body = { version: 1, models_dir: path.resolve(modelsDir), files: Object.fromEntries(records) };
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(body, null, 1)}\n`);
  await rename(tmp, file);
}

/** The installer's `.part` and sidecar beside a model file. */
export async function removeDownloadLeftovers(modelFile: string): Promise<void> {
  const { part, sidecar } = pathsBeside(modelFile);
  await rm(part, { force: true });
  await rm(sidecar, { force: true });
}
