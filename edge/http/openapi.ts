import { z } from "zod";
import type { RouteDef } from "./route.ts";

const schemaOf = (s: z.ZodType) => z.toJSONSchema(s, { target: "draft-2020-12", unrepresentable: "any", io: "input" });

/** The OpenAPI 3.1 document, generated from the route table and its zod schemas. */
export function openApiDocument(routes: RouteDef[], serverUrl: string, version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params: { name: string; in: string; required: boolean; schema: unknown; description?: string }[] = [];
    let path = r.path.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
      params.push({ name, in: "path", required: true, schema: { type: "string" } });
      return `{${name}}`;
    });
    if (path.endsWith("/*")) {
      path = path.slice(0, -2) + "/{key}";
      params.push({ name: "key", in: "path", required: true, schema: { type: "string" }, description: "object key (may contain /)" });
    }
    for (const [name, description] of Object.entries(r.query ?? {})) params.push({ name, in: "query", required: false, schema: { type: "string" }, description });
    const responses: Record<string, unknown> = {};
    for (const [status, res] of Object.entries(r.responses)) {
      responses[status] = {
        description: res.description,
        ...(res.schema ? { content: { [res.contentType ?? "application/json"]: { schema: schemaOf(res.schema) } } } : res.contentType ? { content: { [res.contentType]: {} } } : {}),
      };
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, ch: string | undefined) => (ch ? ch.toUpperCase() : ""))}`,
      parameters: params,
      responses,
      security: Array.isArray(r.auth) ? [{ bearer: [] }] : [],
      "x-roles": Array.isArray(r.auth) ? [...r.auth, "admin"] : r.auth,
    };
    if (r.body) op.requestBody = { required: true, content: { "application/json": { schema: schemaOf(r.body) } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "comfy-edge",
      version,
      description: "A production job API for ComfyUI. Submit a job, watch it, download the images through signed links.",
    },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key (role client, agent or admin)" } } },
    paths,
  };
}
