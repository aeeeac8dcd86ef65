/** One custom node from `custom_nodes.txt`: a git URL, an optional `@ref` pin, the folder it gets. */
export type NodeSpec = {
  url: string;
  /** Commit or tag to check out; null follows the remote's default branch. */
  ref: string | null;
  /** Folder name under `ComfyUI/custom_nodes` (the repository's name). */
  name: string;
  line: number;
};

export type NodeListProblem = { line: number; message: string };

/**
 * Parses `custom_nodes.txt`: one git URL per line, optional `@ref` after it, `#` comments
 * (whole-line or after a space). `git@host:owner/repo.git` SSH URLs keep their `@`: a pin is
 * an `@` after the last `/`.
 */
export function parseNodeList(text: string): { nodes: NodeSpec[]; problems: NodeListProblem[] } {
  const nodes: NodeSpec[] = [];
  const problems: NodeListProblem[] = [];
  const names = new Map<string, number>();

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/(^|\s)#.*$/, "").trim();
    if (content === "") return;
    if (/\s/.test(content)) {
      problems.push({ line, message: `line ${line}: expected one git URL (optionally @ref), got "${content}"` });
      return;
    }
    const at = content.lastIndexOf("@");
    const pinned = at > content.lastIndexOf("/") && at > content.lastIndexOf(":");
    const url = pinned ? content.slice(0, at) : content;
    const ref = pinned ? content.slice(at + 1) : null;
    if (ref !== null && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(ref)) {
      problems.push({ line, message: `line ${line}: "@${ref}" is not a commit or tag name` });
      return;
    }
    if (!looksLikeGitUrl(url)) {
      problems.push({ line, message: `line ${line}: "${url}" is not a git URL (https://, ssh://, git@host:path or file://)` });
      return;
    }
    const name = repoName(url);
    if (name === null) {
      problems.push({ line, message: `line ${line}: cannot tell a folder name from "${url}"` });
      return;
    }
    const earlier = names.get(name);
    if (earlier !== undefined) {
      problems.push({ line, message: `line ${line}: "${name}" is already installed by line ${earlier}; list each node once` });
      return;
    }
    names.set(name, line);
    nodes.push({ url, ref, name, line });
  });
  return { nodes, problems };
}

function looksLikeGitUrl(url: string): boolean {
  return /^(https?|ssh|git|file):\/\/./.test(url) || /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]/.test(url);
}

/** `https://github.com/city96/ComfyUI-GGUF.git` → `ComfyUI-GGUF`. */
export function repoName(url: string): string | null {
  const repoPath = /^[a-z]+:\/\//i.test(url) ? (URL.canParse(url) ? new URL(url).pathname : "") : url.slice(url.indexOf(":") + 1);
  const last = repoPath.replace(/\/+$/, "").split("/").pop() ?? "";
  const name = last.replace(/\.git$/, "");
  return /^[A-Za-z0-9._-]+$/.test(name) && !name.startsWith(".") ? name : null;
}

/** For comparing a checkout's origin with the list: scheme-insensitive to `.git` and trailing `/`. */
export function sameRepo(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, "").replace(/\.git$/, "").toLowerCase();
  return norm(a) === norm(b);
}
