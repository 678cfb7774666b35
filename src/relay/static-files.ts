// The built web client, loaded into memory once at start-up (it is small) with gzip versions, and
// served with validators so phones revalidate cheaply.

import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** One file ready to send. */
export interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
}

/** The web client's files by URL path (`/app.js`). */
export class StaticFiles {
  private constructor(private readonly files: Map<string, StaticFile>) {}

  /** Loads every file under `root`. */
  static async load(root: string): Promise<StaticFiles> {
    const files = new Map<string, StaticFile>();
    for (const path of await walk(root)) {
      const body = await readFile(path);
      const type = TYPES[extname(path)] ?? 'application/octet-stream';
      // Source maps are fetched only by developer tools: not worth compressing at every start.
      const compressible = /^(text|application\/(json|manifest)|image\/svg)/.test(type) && body.length > 512 && !path.endsWith('.map');
      files.set('/' + relative(root, path).split(sep).join('/'), {
        body,
        gzip: compressible ? gzipSync(body) : undefined,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      });
    }
    return new StaticFiles(files);
  }

  get(path: string): StaticFile | undefined {
    return this.files.get(path);
  }
}

/** Where the built web client is: beside the compiled relay, or under dist/ when running from sources. */
export function defaultWebRoot(): string {
  const beside = fileURLToPath(new URL('../web/', import.meta.url));
  if (existsSync(join(beside, 'app.js'))) return beside;
  return fileURLToPath(new URL('../../dist/web/', import.meta.url));
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
