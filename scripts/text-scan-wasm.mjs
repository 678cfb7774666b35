// Compiles src/text-scan.wat (WebAssembly text, with SIMD) into src/text-scan-wasm.ts, the module's bytes as
// base64, which is what the code loads: nothing is compiled when ccremote is built or installed. Run it after
// changing the .wat; a test checks the two agree. `--check` only says whether they do (exit code 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'src/text-scan.wat');
const target = join(root, 'src/text-scan-wasm.ts');

/** The module's bytes, from the .wat. */
export async function compileTextScan() {
  const wabt = await wabtInit();
  const module = wabt.parseWat('text-scan.wat', readFileSync(source, 'utf8'), { simd: true });
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

/** The TypeScript file holding `bytes`. */
export function textScanModule(bytes) {
  const lines = bytes.toString('base64').match(/.{1,100}/g) ?? [];
  return [
    '// Made by scripts/text-scan-wasm.mjs from text-scan.wat: do not edit. The WebAssembly module, as base64.',
    'export const TEXT_SCAN_WASM =',
    ...lines.map((line, i) => `  '${line}'${i === lines.length - 1 ? ';' : ' +'}`),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const text = textScanModule(await compileTextScan());
  if (process.argv.includes('--check')) {
    const same = readFileSync(target, 'utf8') === text;
    console.log(same ? 'src/text-scan-wasm.ts matches src/text-scan.wat' : 'src/text-scan-wasm.ts is out of date: run node scripts/text-scan-wasm.mjs');
    process.exit(same ? 0 : 1);
  }
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
