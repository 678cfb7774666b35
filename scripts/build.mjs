// Builds ccremote: TypeScript to dist/ (library and CLI) and the web client bundle to dist/web/.
// With --if-stale it does nothing when dist/ is newer than every source (`npm start` builds this way).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { writeIcons } from './icons.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Written last: its time is when dist/ was complete. */
const stamp = join(dist, '.built');

/** The newest modification time under `path`, in ms. */
function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const sources = ['src', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.base.json'].map((p) => join(root, p));
if (process.argv.includes('--if-stale') && existsSync(stamp) && Math.max(...sources.map(newest)) <= statSync(stamp).mtimeMs) process.exit(0);

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const web = join(dist, 'web');
mkdirSync(web, { recursive: true });
await esbuild.build({
  entryPoints: { app: join(root, 'src/web/main.ts') },
  outdir: web,
  bundle: true,
  format: 'esm',
  target: ['es2022', 'safari16', 'chrome100', 'firefox100'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const copied = ['index.html', 'icon.svg', 'manifest.webmanifest'];
for (const file of copied) cpSync(join(root, 'src/web', file), join(web, file));

// The service worker caches the app shell; its version is a hash of the shell, so a relay serving a
// new shell serves a new worker too.
const shell = [...copied, 'app.js', 'app.css', ...writeIcons(web)];
const hash = createHash('sha256');
for (const file of shell) hash.update(file).update(readFileSync(join(web, file)));
await esbuild.build({
  entryPoints: { sw: join(root, 'src/web/worker/sw.ts') },
  outdir: web,
  bundle: true,
  format: 'iife',
  target: ['es2022', 'safari16', 'chrome100', 'firefox100'],
  minify: true,
  define: { SHELL_VERSION: JSON.stringify(hash.digest('hex').slice(0, 16)), SHELL_FILES: JSON.stringify(shell) },
  logLevel: 'warning',
});

writeFileSync(stamp, `${new Date().toISOString()}\n`);
