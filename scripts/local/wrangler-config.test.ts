import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "./edge.ts";
import { envOverrides, readWranglerConfig, wranglerTomlPath } from "./wrangler-config.ts";

const tmpToml = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "ce-toml-")), "wrangler.toml");
  writeFileSync(path, text);
  return path;
};

/** The string vars the Worker's Env declares (edge/env.ts), less the secrets. */
function envVarNames(): string[] {
  const file = join(ROOT, "edge/env.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const names: string[] = [];
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== "Env") return;
    for (const member of node.members) {
      if (ts.isPropertySignature(member) && member.type?.kind === ts.SyntaxKind.StringKeyword) names.push(member.name.getText(source));
    }
  });
  return names.filter((n) => n !== "SIGNING_KEY" && n !== "API_KEYS");
}

describe("readWranglerConfig", () => {
  it("reads the project's wrangler.toml: compatibility settings and every [vars] entry", () => {
    const config = readWranglerConfig(wranglerTomlPath(ROOT));
    expect(config.compat.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(config.compat.flags).toContain("nodejs_compat");
    expect(config.vars.PUBLIC_URL).toBe("http://127.0.0.1:8787");
    expect(config.vars.RATE_LIMIT_PER_MIN).toBe("600");
  });

  it("lists in wrangler.toml [vars] and in the README's table every var edge/env.ts reads", () => {
    const names = envVarNames();
    expect(names.length).toBeGreaterThan(10);
    const vars = readWranglerConfig(wranglerTomlPath(ROOT)).vars;
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(names.filter((n) => !(n in vars))).toEqual([]);
    expect(names.filter((n) => !readme.includes(`| \`${n}\` |`))).toEqual([]);
  });

  it("handles what a regex would not: [vars] last or not, comments, single quotes, numbers and booleans", () => {
    const path = tmpToml(
      [
        'compatibility_date = "2026-04-01"',
        "[vars] # trailing comment",
        "RATE_LIMIT_PER_MIN = 7",
        "ALLOW_HTTP_WEBHOOKS = false",
        "WEBHOOK_ALLOW_HOSTS = 'a.test,b.test'",
        '[[r2_buckets]]',
        'binding = "FILES"',
      ].join("\n"),
    );
    expect(readWranglerConfig(path)).toEqual({
      compat: { date: "2026-04-01", flags: [] },
      vars: { RATE_LIMIT_PER_MIN: "7", ALLOW_HTTP_WEBHOOKS: "false", WEBHOOK_ALLOW_HOSTS: "a.test,b.test" },
    });
  });

  it("names the file and the problem for bad TOML or a bad value", () => {
    const broken = tmpToml('compatibility_date = "2026-04-01"\n[vars\n');
    expect(() => readWranglerConfig(broken)).toThrow(broken);
    const nested = tmpToml('compatibility_date = "2026-04-01"\n[vars]\nX = { a = 1 }\n');
    expect(() => readWranglerConfig(nested)).toThrow(/vars\.X/);
    const noDate = tmpToml("[vars]\n");
    expect(() => readWranglerConfig(noDate)).toThrow(/compatibility_date/);
  });

  it("round-trips the project's file through the parser unchanged in meaning", () => {
    const text = readFileSync(wranglerTomlPath(ROOT), "utf8");
    expect((parse(text) as { vars: Record<string, unknown> }).vars).toEqual(readWranglerConfig(wranglerTomlPath(ROOT)).vars);
  });
});

describe("envOverrides", () => {
  it("takes exactly the named vars the environment sets, empty values included", () => {
    const env = { RATE_LIMIT_PER_MIN: "5", WEBHOOK_ALLOW_HOSTS: "", PATH: "/bin" };
    expect(envOverrides(["RATE_LIMIT_PER_MIN", "WEBHOOK_ALLOW_HOSTS", "MAX_ATTEMPTS"], env)).toEqual({ RATE_LIMIT_PER_MIN: "5", WEBHOOK_ALLOW_HOSTS: "" });
  });
});
