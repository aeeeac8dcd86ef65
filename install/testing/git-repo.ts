import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** A real git repository in a temp folder, reachable as a file:// URL, for offline install tests. */
export type LocalRepo = {
  dir: string;
  url: string;
  /** Writes the files, commits, optionally tags; returns the commit sha. */
  commit(files: Record<string, string>, tag?: string): string;
};

const IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"];

export function makeRepo(parent: string, name: string): LocalRepo {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync("git", [...IDENTITY, ...args], { cwd: dir, encoding: "utf8" }).trim();
  git("init", "--quiet", "--initial-branch=main");
  let count = 0;
  return {
    dir,
    url: pathToFileURL(dir).href,
    commit(files, tag) {
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), content);
      }
      git("add", "--all");
      git("commit", "--quiet", "--allow-empty", "-m", `change ${++count}`);
      if (tag) git("tag", tag);
      return git("rev-parse", "HEAD");
    },
  };
}

export function headOf(dir: string): string {
  return execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, encoding: "utf8" }).trim();
}
