// Builds ccremote: TypeScript to dist/ (library and CLI) and the web client bundle to dist/web/.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
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
for (const file of ['index.html', 'icon.svg']) cpSync(join(root, 'src/web', file), join(web, file));
