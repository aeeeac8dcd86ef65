import { lastLines, run } from "./run.ts";

/** A git failure as a value: what was attempted and git's own last words. */
export class GitError extends Error {
  override readonly name = "GitError";
  readonly code = "git_failed";
}

// Never wait for a password prompt on a private or mistyped URL: fail and say so.
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_ASKPASS: "", SSH_ASKPASS: "" };

export async function git(cwd: string, args: readonly string[], what: string): Promise<string> {
  const result = await run("git", args, { cwd, env: GIT_ENV });
  if (result.code !== 0) throw new GitError(`${what} failed: ${lastLines(result.output) || `git exited ${result.code}`}`);
  return result.stdout.trim();
}

/** Like `git` but a failure is just `null` (for questions such as "does this ref exist?"). */
export async function gitMaybe(cwd: string, args: readonly string[]): Promise<string | null> {
  const result = await run("git", args, { cwd, env: GIT_ENV });
  return result.code === 0 ? result.stdout.trim() : null;
}

/** The commit `ref` names in `cwd`: a tag first, then a remote branch, then anything git resolves (a sha). */
export async function resolveRef(cwd: string, ref: string): Promise<string | null> {
  for (const candidate of [`refs/tags/${ref}`, `refs/remotes/origin/${ref}`, ref]) {
    const sha = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", `${candidate}^{commit}`]);
    if (sha) return sha;
  }
  return null;
}
