import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { SimFiles } from "./files.ts";
import { empty, HttpFailure, INTERNAL_ERROR, json, type Reply, type Router, type SimRequest } from "./http.ts";

const MIME: Record<string, string> = {
  ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif",
  ".bmp": "image/bmp", ".mp4": "video/mp4", ".webm": "video/webm", ".json": "application/json", ".txt": "text/plain",
};
/** Types ComfyUI refuses to let a browser render from `/view`. */
const FORCE_DOWNLOAD = new Set([".html", ".htm", ".xhtml", ".js", ".css"]);

function inside(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function image(body: Buffer, format: string, filename: string): Reply {
  return { status: 200, headers: { "Content-Type": `image/${format}`, "Content-Disposition": `filename="${filename}"` }, body };
}

/** `GET /view` as ComfyUI answers it: 400 for absolute or ".." names, 403 for a subfolder outside, 404 if absent. */
async function view(req: SimRequest, files: SimFiles): Promise<Reply> {
  const q = req.query;
  const requested = q.get("filename");
  if (requested === null) return empty(404);
  const { name, dir } = files.annotated(requested);
  if (!name) return empty(400);
  if (name.startsWith("/") || name.includes("..")) return empty(400);
  let outDir = dir ?? files.dir(q.get("type") ?? "output");
  if (!outDir) return empty(400);
  const subfolder = q.get("subfolder");
  if (subfolder !== null) {
    const full = path.resolve(outDir, subfolder);
    if (!inside(outDir, full)) return empty(403);
    outDir = full;
  }
  const filename = path.basename(name);
  const file = path.join(outDir, filename);
  const inFlight = files.pending(file);
  if (!inFlight && !isFile(file)) return empty(404);
  const source = inFlight ?? file;
  const channel = q.get("channel") ?? "rgba";

  const preview = q.get("preview");
  if (preview !== null) {
    const parts = preview.split(";");
    let format = parts[0] ?? "";
    if (!["webp", "jpeg"].includes(format) || (q.get("channel") ?? "").includes("a")) format = "webp";
    const last = parts[parts.length - 1] ?? "";
    const quality = /^\d+$/.test(last) ? Math.min(100, Math.max(1, Number(last))) : 90;
    let img = sharp(source);
    if (format === "jpeg" || channel === "rgb") img = img.removeAlpha();
    const body = format === "jpeg" ? await img.jpeg({ quality }).toBuffer() : await img.webp({ quality }).toBuffer();
    return image(body, format, filename);
  }
  if (channel === "rgb") return image(await sharp(source).removeAlpha().png().toBuffer(), "png", filename);
  if (channel === "a") {
    const { data, info } = await sharp(source).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const alphaOnly = Buffer.alloc(info.width * info.height * 4);
    for (let p = 0; p < info.width * info.height; p++) alphaOnly[p * 4 + 3] = data[p * info.channels + 3] as number;
    const body = await sharp(alphaOnly, { raw: { width: info.width, height: info.height, channels: 4 } }).png().toBuffer();
    return image(body, "png", filename);
  }
  const ext = path.extname(filename).toLowerCase();
  const type = FORCE_DOWNLOAD.has(ext) ? "application/octet-stream" : (MIME[ext] ?? "application/octet-stream");
  return {
    status: 200,
    headers: { "Content-Type": type, "Content-Disposition": `filename="${filename}"` },
    body: inFlight ?? (await readFile(file)),
  };
}

async function formOf(req: SimRequest): Promise<FormData> {
  const contentType = String(req.headers["content-type"] ?? "");
  const body = await req.body();
  try {
    return await new Request("http://sim/upload", { method: "POST", headers: { "content-type": contentType }, body: new Uint8Array(body) }).formData();
  } catch {
    throw new HttpFailure(INTERNAL_ERROR);
  }
}

/** `POST /upload/image`: multipart `image` (+ `subfolder`, `type`, `overwrite`) into input/temp/output. */
async function upload(req: SimRequest, files: SimFiles): Promise<Reply> {
  const form = await formOf(req);
  const file = form.get("image");
  const typeField = form.get("type");
  const type = typeof typeField === "string" ? typeField : "input";
  const dir = files.dir(type);
  // An unknown type leaves ComfyUI's `type_dir` unbound: an exception, so a 500.
  if (!dir) return INTERNAL_ERROR;
  if (!(file instanceof File)) return empty(400);
  let filename = file.name;
  if (!filename) return empty(400);
  const subField = form.get("subfolder");
  const subfolder = typeof subField === "string" ? subField : "";
  const folder = path.resolve(dir, path.posix.normalize(subfolder || "."));
  let target = path.resolve(folder, filename);
  if (!inside(dir, target)) return empty(400);
  await mkdir(folder, { recursive: true });
  const overwrite = form.get("overwrite");
  const content = Buffer.from(await file.arrayBuffer());
  let duplicate = false;
  if (overwrite !== "true" && overwrite !== "1") {
    const ext = path.extname(filename);
    const stem = filename.slice(0, filename.length - ext.length);
    const digest = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
    for (let i = 1; existsSync(target); i++) {
      if (digest(await readFile(target)) === digest(content)) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${ext}`;
      target = path.join(folder, filename);
    }
  }
  if (!duplicate) await writeFile(target, content);
  return json({ name: filename, subfolder, type });
}

/** ComfyUI's file routes. */
export function addFileRoutes(router: Router, files: SimFiles): void {
  router.add("GET", "/view", (req) => view(req, files));
  router.add("POST", "/upload/image", (req) => upload(req, files));
}
