import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type ImageToSave, encodeImage } from "./picture.ts";
import { encodePng } from "./png.ts";
import { PyError } from "./py.ts";

export type DirType = "input" | "output" | "temp";
export interface SavedImage {
  filename: string;
  subfolder: string;
  type: "output" | "temp";
}

const IMAGE_EXT = new Set([".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".avif"]);
const TEMP_CHARS = "abcdefghijklmnopqrstupvxyz";

/** Python's `os.path.dirname`/`basename` after `normpath`: "" rather than "." for no folder. */
function splitPrefix(prefix: string): { subfolder: string; filename: string } {
  const norm = path.posix.normalize(prefix.replace(/\\/g, "/") || ".");
  const dir = path.posix.dirname(norm);
  return { subfolder: dir === "." ? "" : dir, filename: path.posix.basename(norm) };
}

function inside(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function fillVars(prefix: string, width: number, height: number): string {
  if (!prefix.includes("%")) return prefix;
  const now = new Date();
  const two = (n: number): string => String(n).padStart(2, "0");
  return prefix
    .replaceAll("%width%", String(width)).replaceAll("%height%", String(height))
    .replaceAll("%year%", String(now.getFullYear())).replaceAll("%month%", two(now.getMonth() + 1))
    .replaceAll("%day%", two(now.getDate())).replaceAll("%hour%", two(now.getHours()))
    .replaceAll("%minute%", two(now.getMinutes())).replaceAll("%second%", two(now.getSeconds()));
}

/**
 * The sim's ComfyUI directories (`input/`, `output/`, `temp/`) and ComfyUI's file conventions:
 * annotated names (`x.png [output]`), and `prefix_00001_.png` counters that continue across
 * runs and restarts because they follow the files on disk.
 */
export class SimFiles {
  readonly outputDir: string;
  readonly inputDir: string;
  readonly tempDir: string;
  /** The base directory holding `input/` and `temp/` (and `output/` unless set elsewhere), as ComfyUI's own. */
  readonly root: string;
  private readonly counters = new Map<string, number>();
  /** Saved images whose bytes are still on their way to disk, by absolute path. */
  private readonly inFlight = new Map<string, Buffer>();
  private readonly writes = new Set<Promise<void>>();

  private constructor(root: string, outputDir: string) {
    this.root = root;
    this.outputDir = outputDir;
    this.inputDir = path.join(root, "input");
    this.tempDir = path.join(root, "temp");
    for (const dir of [outputDir, this.inputDir, this.tempDir]) mkdirSync(dir, { recursive: true });
  }

  /** Makes the directories; `outputDir` is used as ComfyUI's output directory when given. */
  static async create(outputDir?: string): Promise<SimFiles> {
    const root = await mkdtemp(path.join(tmpdir(), "comfy-sim-"));
    const files = new SimFiles(root, path.resolve(outputDir ?? path.join(root, "output")));
    // ComfyUI ships input/example.png; img2img workflows expect it.
    await writeFile(path.join(files.inputDir, "example.png"), encodePng(512, 512, 0x5eed));
    return files;
  }

  dir(type: string): string | undefined {
    if (type === "input") return this.inputDir;
    if (type === "output") return this.outputDir;
    if (type === "temp") return this.tempDir;
    return undefined;
  }

  /** `folder_paths.annotated_filepath`: strips " [output]" etc. and says which directory it named. */
  annotated(name: string): { name: string; dir: string | undefined } {
    for (const type of ["output", "input", "temp"] as const) {
      const tag = `[${type}]`;
      if (name.endsWith(tag)) return { name: name.slice(0, -(tag.length + 1)), dir: this.dir(type) };
    }
    return { name, dir: undefined };
  }

  /** The file a LoadImage value names (input directory unless annotated), inside the sim's dirs. */
  inputPath(value: string): string | null {
    const { name, dir } = this.annotated(value);
    const file = path.resolve(dir ?? this.inputDir, name);
    return inside(this.root, file) || inside(this.outputDir, file) ? file : null;
  }

  /** `exists_annotated_filepath`: what LoadImage's VALIDATE_INPUTS checks. */
  inputFileExists(value: string): boolean {
    const file = this.inputPath(value);
    return file !== null && this.exists(file);
  }

  /** LoadImage's `IS_CHANGED`: changes when the file does. */
  fileToken(value: string): string {
    const file = this.inputPath(value);
    const inFlight = file ? this.pending(file) : undefined;
    if (inFlight) return `${inFlight.length}:writing`;
    try {
      const s = file ? statSync(file) : null;
      return s ? `${s.size}:${s.mtimeMs}` : "missing";
    } catch {
      return "missing";
    }
  }

  /** LoadImage's choices: image files directly in the input directory, sorted. */
  inputImages(): string[] {
    try {
      return readdirSync(this.inputDir, { withFileTypes: true })
        .filter((e) => e.isFile() && IMAGE_EXT.has(path.extname(e.name).toLowerCase()))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  /**
   * Saves images as SaveImage (`output`) or PreviewImage (`temp`) name them. Images with computed
   * pixels yield to the event loop between them, so HTTP and sockets stay served as ComfyUI's do.
   */
  async saveImages(prefix: string, kind: "output" | "temp", images: readonly ImageToSave[], text: Record<string, string>): Promise<SavedImage[]> {
    const first = images[0] ?? { width: 0, height: 0 };
    const target = this.saveTarget(prefix, kind, first.width, first.height);
    let counter = target.counter;
    const saved: SavedImage[] = [];
    for (const [batch, img] of images.entries()) {
      if (img.rgb) await new Promise((resolve) => setImmediate(resolve));
      const name = `${target.filename.replaceAll("%batch_num%", String(batch))}_${String(counter).padStart(5, "0")}_.png`;
      this.write(path.join(target.folder, name), encodeImage(img, text));
      saved.push({ filename: name, subfolder: target.subfolder, type: kind });
      counter++;
    }
    // Temp prefixes are random per run; remembering them would only grow the map.
    if (kind === "output") this.counters.set(`${target.folder}\0${target.filename}`, counter);
    return saved;
  }

  /** Saves one output file named like SaveImage's (`prefix_00001_.webp`), as SaveAnimatedWEBP does. */
  saveFile(prefix: string, ext: string, size: { width: number; height: number }, bytes: Buffer): SavedImage {
    const target = this.saveTarget(prefix, "output", size.width, size.height);
    const name = `${target.filename}_${String(target.counter).padStart(5, "0")}_.${ext}`;
    this.write(path.join(target.folder, name), bytes);
    this.counters.set(`${target.folder}\0${target.filename}`, target.counter + 1);
    return { filename: name, subfolder: target.subfolder, type: "output" };
  }

  /** `get_save_image_path`: the folder, file name and first counter for a prefix. @throws PyError outside the folder */
  private saveTarget(prefix: string, kind: "output" | "temp", width: number, height: number): { folder: string; subfolder: string; filename: string; counter: number } {
    const baseDir = kind === "output" ? this.outputDir : this.tempDir;
    let fullPrefix = prefix;
    if (kind === "temp") fullPrefix += `_temp_${Array.from({ length: 5 }, () => TEMP_CHARS[randomInt(TEMP_CHARS.length)]).join("")}`;
    const { subfolder, filename } = splitPrefix(fillVars(fullPrefix, width, height));
    const folder = path.resolve(baseDir, subfolder);
    if (!inside(baseDir, folder)) {
      throw new PyError("Exception", [
        "**** ERROR: Saving image outside the output folder is not allowed.",
        ` full_output_folder: ${folder}`,
        `         output_dir: ${baseDir}`,
        `         commonpath: ${path.parse(baseDir).root}`,
      ].join("\n"));
    }
    return { folder, subfolder, filename, counter: this.nextCounter(folder, filename) };
  }

  /**
   * Writes in the background: creating a file costs far more than encoding it on some disks,
   * and `/view` serves the bytes from memory until they land, so no client can tell.
   */
  private write(file: string, png: Buffer): void {
    this.inFlight.set(file, png);
    const done = writeFile(file, png)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight.delete(file);
        this.writes.delete(done);
      });
    this.writes.add(done);
  }

  /** A saved file's bytes while its write is still under way. */
  pending(file: string): Buffer | undefined {
    return this.inFlight.get(path.resolve(file));
  }

  /** Whether a file exists, counting saves still being written. */
  exists(file: string): boolean {
    return this.inFlight.has(path.resolve(file)) || existsSync(file);
  }

  /** `get_save_image_path`'s counter: one past the highest `filename_NNNNN_` on disk. */
  private nextCounter(folder: string, filename: string): number {
    const key = `${folder}\0${filename}`;
    const known = this.counters.get(key);
    if (known !== undefined) return known;
    mkdirSync(folder, { recursive: true });
    let max = 0;
    for (const f of readdirSync(folder)) {
      if (f.slice(0, filename.length + 1) !== `${filename}_`) continue;
      const digits = f.slice(filename.length + 1).split("_")[0] ?? "";
      if (/^\d+$/.test(digits)) max = Math.max(max, Number(digits));
    }
    return max + 1;
  }

  /** After a restart, counters are re-read from disk. */
  forgetCounters(): void {
    this.counters.clear();
  }

  async dispose(): Promise<void> {
    await Promise.allSettled([...this.writes]);
    await rm(this.root, { recursive: true, force: true });
  }
}
