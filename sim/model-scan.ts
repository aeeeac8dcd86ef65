import { readdirSync, statSync } from "node:fs";
import path from "node:path";

/** One folder's files as ComfyUI lists them, with the mtimes of every directory it walked. */
export interface Listing {
  readonly files: string[];
  /** Directory path → mtime (ns) when walked. */
  readonly dirs: ReadonlyMap<string, bigint>;
  /** Wall clock (ms) when the walk started. */
  readonly scannedAt: number;
}

/**
 * A directory's mtime has the file system's tick (a few ms on Linux): a change in the same tick as
 * the walk leaves it unchanged. ComfyUI misses such a change until the next one; the sim rescans
 * a folder whose newest directory changed this close to the walk, so a file the agent drops in
 * right after a listing is never hidden.
 */
const RACY_MS = 100;

function mtimeNs(dir: string): bigint | null {
  try {
    return statSync(dir, { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * `folder_paths.recursive_search` over each root (links followed, `.git` skipped), paths relative
 * to their root with `/`, then `filter_files_extensions` (lower-cased extension in `ext`; null: any)
 * and sorted without duplicates, as `get_filename_list_` returns them.
 */
export function scanFolder(roots: readonly string[], ext: readonly string[] | null): Listing {
  const scannedAt = Date.now();
  const found = new Set<string>();
  const dirs = new Map<string, bigint>();
  for (const root of roots) {
    if (!isDir(root)) continue;
    const walk = (dir: string, rel: string): void => {
      const mtime = mtimeNs(dir);
      if (mtime === null) return;
      dirs.set(dir, mtime);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (name === ".git") continue;
        const full = path.join(dir, name);
        const relName = rel === "" ? name : `${rel}/${name}`;
        if (isDir(full)) walk(full, relName);
        else if (ext === null || ext.includes(path.extname(name).toLowerCase())) found.add(relName);
      }
    };
    walk(root, "");
  }
  return { files: [...found].sort(), dirs, scannedAt };
}

/**
 * `cached_filename_list_`'s check: a listing stays good while no directory it walked changed mtime
 * and no root appeared since; plus the sim's own guard against same-tick changes (see RACY_MS).
 */
export function listingIsCurrent(listing: Listing, roots: readonly string[]): boolean {
  for (const [dir, mtime] of listing.dirs) {
    const now = mtimeNs(dir);
    if (now !== mtime) return false;
    if (Number(mtime / 1_000_000n) >= listing.scannedAt - RACY_MS) return false;
  }
  return roots.every((root) => listing.dirs.has(root) || !isDir(root));
}
