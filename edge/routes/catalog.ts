import { WorkflowListSchema } from "../../shared/api.ts";
import { ApiError, ErrorBodySchema } from "../../shared/errors.ts";
import { LoraListViewSchema, WorkflowViewSchema, loraView, workflowView } from "../../shared/manifest/views.ts";
import { catalog, workflowById } from "../catalog.ts";
import { defineRoutes } from "../http/route.ts";
import { workflowListings } from "./workflow-readiness.ts";

// The catalog is fixed for the life of the Worker: render the JSON once.
const loraList = JSON.stringify(loraView(catalog));
const json = (text: string) => new Response(text, { headers: { "content-type": "application/json" } });

export const catalogRoutes = defineRoutes([
  {
    method: "GET", path: "/workflows", auth: ["client"], tag: "catalog",
    summary: "List the workflows, each with agents_ready: how many connected agents can run it now (its default models and its node classes).",
    responses: { 200: { description: "Workflows", schema: WorkflowListSchema } },
    handler: async (c) => c.json({ workflows: await workflowListings(c.env, catalog) }),
  },
  {
    method: "GET", path: "/workflows/:id", auth: ["client"], tag: "catalog",
    summary: "One workflow with each parameter: type, default, limits, choices, description, required.",
    responses: { 200: { description: "The workflow", schema: WorkflowViewSchema }, 404: { description: "Unknown workflow", schema: ErrorBodySchema } },
    handler: (c) => {
      const w = workflowById(c.req.param("id")!);
      if (!w) throw new ApiError("unknown_workflow", `No workflow "${c.req.param("id")}". Available: ${Object.keys(catalog.workflows).join(", ")}.`);
      return c.json(workflowView(w));
    },
  },
  {
    method: "GET", path: "/loras", auth: ["client"], tag: "catalog", summary: "List the LoRAs (the original's shape: name, description, prefix, suffix, examples).",
    responses: { 200: { description: "LoRAs", schema: LoraListViewSchema } },
    handler: () => json(loraList),
  },
]);
