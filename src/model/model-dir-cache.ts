import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Files transformers.js hands ONNX Runtime by path in Node: the model and its external data. */
const OPENED_BY_PATH = /\.onnx(_data(_\d+)?)?$/;

/**
 * transformers.js's file cache for MODEL_DIR, written here because its own (`FileCache`) answers a
 * lookup with a response that starts reading the whole file into memory at once, even for the ONNX
 * file, of which transformers.js only wants the path (ONNX Runtime reads it again from there). In the
 * model worker those unread chunks, the file's size (256 MB fp32), stayed in RSS until a GC that an
 * idle worker rarely runs (docs/PERFORMANCE.md, issue #26). This one answers ONNX files with their
 * path and reads the others (JSON of a few MB at most) when asked; downloads land where the next
 * start looks, as `FileCache`'s do.
 *
 * Keys are either a local path under `modelDir` or a hub URL, `<remoteHost><model>/resolve/<revision>/<file>`
 * (the template transformers-env.ts sets), filed as `<modelDir>/<model>/<file>`.
 */
export class ModelDirCache {
  constructor(
    private readonly modelDir: string,
    private readonly remoteHost: () => string,
  ) {}

  async match(key: string): Promise<Response | string | undefined> {
    const file = this.localFile(key);
    if (file === undefined || !existsSync(file)) return undefined;
    if (OPENED_BY_PATH.test(file)) return file;
    const contents = await readFile(file);
    return new Response(contents, { headers: { 'content-length': String(contents.byteLength) } });
  }

  /** Written to a temporary file first, so an interrupted download never looks like a model file. */
  async put(key: string, response: Response): Promise<void> {
    const file = this.localFile(key);
    if (file === undefined || response.body === null) return;
    await mkdir(dirname(file), { recursive: true });
    const partial = `${file}.partial-${process.pid}`;
    try {
      await pipeline(Readable.fromWeb(response.body), createWriteStream(partial));
      await rename(partial, file);
    } finally {
      await rm(partial, { force: true });
    }
  }

  private localFile(key: string): string | undefined {
    const host = this.remoteHost();
    if (key.startsWith(host)) {
      const hubPath = /^(.+?)\/resolve\/[^/]+\/(.+)$/.exec(key.slice(host.length));
      return hubPath ? join(this.modelDir, ...hubPath[1].split('/'), ...hubPath[2].split('/')) : undefined;
    }
    const inside = relative(this.modelDir, key);
    return inside.startsWith(`..${sep}`) || inside === '..' ? undefined : join(this.modelDir, inside);
  }
}
