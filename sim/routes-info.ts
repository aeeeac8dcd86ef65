import os from "node:os";
import { type ClassEnv, nodeInfo } from "./class-info.ts";
import type { ModelFolders } from "./folders.ts";
import { empty, json, type Router } from "./http.ts";
import type { NodeClassDef } from "./node-classes.ts";
import { SERVER_FEATURES } from "./ws-hub.ts";

export interface InfoRoutesDeps {
  readonly classes: Readonly<Record<string, NodeClassDef>>;
  readonly folders: ModelFolders;
  readonly env: ClassEnv;
}

const GIB = 1024 ** 3;
const VRAM_TOTAL = 24 * GIB;

const INDEX_HTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>ComfyUI</title></head>
<body><p>ComfyUI (comfy-edge sim): HTTP and WebSocket API only.</p></body></html>
`;

/** ComfyUI's informational routes: `/object_info`, `/models`, `/system_stats`, `/features`, `/`. */
export function addInfoRoutes(router: Router, deps: InfoRoutesDeps): void {
  const { classes, folders, env } = deps;

  router.add("GET", "/", () => ({ status: 200, headers: { "Content-Type": "text/html", "Cache-Control": "no-cache" }, body: INDEX_HTML }));

  router.add("GET", "/object_info", () => {
    const out: Record<string, unknown> = {};
    for (const [name, def] of Object.entries(classes)) out[name] = nodeInfo(name, def, env);
    return json(out);
  });

  router.add("GET", "/object_info/{node_class}", (req) => {
    const name = req.params.node_class as string;
    const def = Object.hasOwn(classes, name) ? classes[name] : undefined;
    return json(def ? { [name]: nodeInfo(name, def, env) } : {});
  });

  router.add("GET", "/models", () => json(folders.names()));

  router.add("GET", "/models/{folder}", (req) => {
    const files = folders.files(req.params.folder as string);
    return files ? json(files) : empty(404);
  });

  router.add("GET", "/embeddings", () => json((folders.files("embeddings") ?? []).map((f) => f.replace(/\.[^.]+$/, ""))));
  router.add("GET", "/extensions", () => json([]));
  router.add("GET", "/features", () => json(SERVER_FEATURES));

  router.add("GET", "/system_stats", () => {
    const vramFree = VRAM_TOTAL - 3 * GIB;
    return json({
      system: {
        os: "posix",
        ram_total: os.totalmem(),
        ram_free: os.freemem(),
        comfyui_version: "0.3.64",
        required_frontend_version: "1.27.10",
        installed_templates_version: "0.1.94",
        required_templates_version: "0.1.94",
        python_version: "3.12.3 (main, Aug 14 2025, 17:47:21) [GCC 13.3.0]",
        pytorch_version: "2.8.0+cu128",
        embedded_python: false,
        argv: ["main.py", "--listen", "127.0.0.1"],
      },
      devices: [{
        name: "cuda:0 NVIDIA Sim GPU : cudaMallocAsync",
        type: "cuda",
        index: 0,
        vram_total: VRAM_TOTAL,
        vram_free: vramFree,
        torch_vram_total: 0,
        torch_vram_free: 0,
      }],
    });
  });
}
