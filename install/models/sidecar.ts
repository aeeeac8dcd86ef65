import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { ModelSpec } from "../../shared/model-catalog/spec.ts";

/**
 * What we know about a file on disk, kept beside it as `.<name>.download.json`:
 * `partial` while `<name>.part` is being filled (so a resume only continues the same URL),
 * `complete` once it was verified and renamed into place (so a re-run can skip it).
 */
export const SidecarSchema = z.object({
  version: z.literal(1),
  state: z.enum(["partial", "complete"]),
  url: z.string().describe("The configured URL, revision included"),
  revision: z.string().nullable().describe("The /resolve/<revision>/ of a Hugging Face URL"),
  commit: z.string().nullable().describe("The commit the Hub resolved the revision to"),
  size: z.number().int().nonnegative().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  etag: z.string().nullable().describe("Strong validator of the download, sent as If-Range on resume"),
  updatedAt: z.string(),
});
export type Sidecar = z.infer<typeof SidecarSchema>;

export type TargetPaths = { final: string; part: string; sidecar: string };

export function targetPaths(dest: string, spec: ModelSpec): TargetPaths {
  return pathsBeside(path.join(dest, ...spec.section.split("/"), spec.fileName));
}

/** The `.part` and sidecar of a model file (the agent removes them with a model it evicts). */
export function pathsBeside(final: string): TargetPaths {
  return { final, part: `${final}.part`, sidecar: path.join(path.dirname(final), `.${path.basename(final)}.download.json`) };
}

export async function readSidecar(file: string): Promise<Sidecar | null> {
  try {
    const parsed = SidecarSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Written to a temporary name and renamed, so a crash never leaves half a sidecar. */
export async function writeSidecar(file: string, data: Omit<Sidecar, "version" | "updatedAt">): Promise<void> {
  const body: Sidecar = { version: 1, ...data, updatedAt: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`);
  await rename(tmp, file);
}

export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true });
}
