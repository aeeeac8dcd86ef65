import { existsSync } from "node:fs";
import { realpath, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { git, GitError, gitMaybe, resolveRef } from "./git.ts";
import { sameRepo } from "./list.ts";

export type CheckoutResult = {
  action: "cloned" | "updated" | "unchanged";
  /** Commit before (null when cloned) and after. */
  before: string | null;
  after: string;
};

/**
 * Makes `target` a checkout of `url` at `ref` (or the remote's default branch when null):
 * clones when absent (into a temporary folder, renamed at the end, so an interrupted clone
 * never looks installed), otherwise fetches and moves the existing checkout.
 */
export async function ensureCheckout(url: string, ref: string | null, target: string): Promise<CheckoutResult> {
  if (!existsSync(target)) return clone(url, ref, target);
  return update(url, ref, target);
}

async function clone(url: string, ref: string | null, target: string): Promise<CheckoutResult> {
  const parent = path.dirname(target);
  const staging = path.join(parent, `.${path.basename(target)}.cloning`);
  await rm(staging, { recursive: true, force: true });
  try {
    await git(parent, ["clone", "--quiet", "--", url, staging], `git clone ${url}`);
    if (ref !== null) await checkoutRef(staging, ref, url);
    const after = await git(staging, ["rev-parse", "HEAD"], "git rev-parse");
    await rename(staging, target);
    return { action: "cloned", before: null, after };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function update(url: string, ref: string | null, target: string): Promise<CheckoutResult> {
  if (!(await stat(target)).isDirectory() || (await gitMaybe(target, ["rev-parse", "--show-toplevel"])) !== (await realpath(target))) {
    throw new GitError(`${target} exists but is not a git checkout; move it aside and run again`);
  }
  const origin = await gitMaybe(target, ["remote", "get-url", "origin"]);
  if (origin === null || !sameRepo(origin, url)) {
    throw new GitError(`${target} is a checkout of ${origin ?? "(no origin)"}, not ${url}; remove it or fix the list`);
  }
  const before = await git(target, ["rev-parse", "HEAD"], "git rev-parse");

  if (ref !== null) {
    // Already at a pinned tag or commit we have: nothing to fetch (fast, and works offline).
    const local = await resolvePinned(target, ref);
    if (local === before) return { action: "unchanged", before, after: before };
    await git(target, ["fetch", "--quiet", "--tags", "--force", "origin"], `git fetch ${url}`);
    await checkoutRef(target, ref, url);
  } else {
    await git(target, ["fetch", "--quiet", "origin"], `git fetch ${url}`);
    const tip = await defaultBranchTip(target, url);
    const onBranch = (await gitMaybe(target, ["symbolic-ref", "--quiet", "HEAD"])) !== null;
    if (onBranch) await git(target, ["merge", "--quiet", "--ff-only", tip], `fast-forward ${target} (local commits?)`);
    else await git(target, ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", tip], `git checkout in ${target} (local changes?)`);
  }
  const after = await git(target, ["rev-parse", "HEAD"], "git rev-parse");
  return { action: after === before ? "unchanged" : "updated", before, after };
}

async function checkoutRef(cwd: string, ref: string, url: string): Promise<void> {
  let sha = await resolveRef(cwd, ref);
  if (sha === null && (await gitMaybe(cwd, ["fetch", "--quiet", "origin", ref])) !== null) {
    sha = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"]);
  }
  if (sha === null) throw new GitError(`ref "${ref}" is not a tag, branch or commit of ${url}; fix the @ref in the list`);
  await git(cwd, ["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha], `git checkout ${ref} in ${cwd} (local changes?)`);
}

/** A pin only counts as present locally when it is a tag or a commit, never a (possibly stale) branch. */
async function resolvePinned(cwd: string, ref: string): Promise<string | null> {
  const tag = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", `refs/tags/${ref}^{commit}`]);
  if (tag) return tag;
  if (!/^[0-9a-f]{7,40}$/i.test(ref)) return null;
  const sha = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  return sha !== null && sha.startsWith(ref.toLowerCase()) ? sha : null;
}

async function defaultBranchTip(cwd: string, url: string): Promise<string> {
  let tip = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", "refs/remotes/origin/HEAD^{commit}"]);
  if (tip === null && (await gitMaybe(cwd, ["remote", "set-head", "origin", "--auto"])) !== null) {
    tip = await gitMaybe(cwd, ["rev-parse", "--verify", "--quiet", "refs/remotes/origin/HEAD^{commit}"]);
  }
  if (tip === null) throw new GitError(`cannot tell the default branch of ${url}; pin a ref with @<tag or commit>`);
  return tip;
}
