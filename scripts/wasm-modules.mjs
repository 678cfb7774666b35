// Compiles the WebAssembly text of src/ (with SIMD) into TypeScript files holding each module's bytes as base64,
// which is what the code loads: nothing is compiled when ccremote is built or installed. Run it after changing
// a .wat; a test checks that they agree. `--check` only says whether they do (exit code 1 if not).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Each module: its text, the TypeScript file of its bytes, and the constant naming them. */
export const MODULES = [
  { wat: 'src/wasm/text-scan.wat', ts: 'src/wasm/text-scan-wasm.ts', name: 'TEXT_SCAN_WASM' },
  { wat: 'src/wasm/aead.wat', ts: 'src/wasm/aead-wasm.ts', name: 'AEAD_WASM' },
];

/** A module's bytes, from its .wat. */
export async function compile(module) {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(module.wat, readFileSync(join(root, module.wat), 'utf8'), { simd: true, bulk_memory: true });
  try {
    parsed.validate();
    return Buffer.from(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

/** The TypeScript file holding a module's `bytes`. */
export function typescriptOf(module, bytes) {
  const lines = bytes.toString('base64').match(/.{1,100}/g) ?? [];
  const source = module.wat.split('/').pop();
  return [
    `// Made by scripts/wasm-modules.mjs from ${source}: do not edit. The WebAssembly module, as base64.`,
    `export const ${module.name} =`,
    ...lines.map((line, i) => `  '${line}'${i === lines.length - 1 ? ';' : ' +'}`),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let stale = 0;
  for (const module of MODULES) {
    const text = typescriptOf(module, await compile(module));
    const target = join(root, module.ts);
    if (!process.argv.includes('--check')) {
      writeFileSync(target, text);
      console.log(`wrote ${module.ts}`);
    } else if (readFileSync(target, 'utf8') === text) {
      console.log(`${module.ts} matches ${module.wat}`);
    } else {
      console.log(`${module.ts} is out of date: run node scripts/wasm-modules.mjs`);
      stale++;
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
