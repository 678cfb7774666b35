// `npm run bench`: starts real relays and agents on 127.0.0.1, measures M1–M7, prints a table with each
// figure beside its in-run baseline and target, and writes bench/results/latest.json.
//
//   node bench/run.mjs [--only M1,M3] [--runs 3] [--quick] [--update-docs] [--from results.json]

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pinning } from './lib/procs.mjs';
import { CLIENT_CPU, removeTemp } from './lib/setup.mjs';
import { medianOf } from './lib/stats.mjs';
import { figures, renderChart, renderMarkdown, renderTable } from './report.mjs';
import { renderPeerChart } from './peer-chart.mjs';
import { kernelMemoryWork, machineCosts } from './lib/machine.mjs';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    'update-docs': { type: 'boolean', default: false },
    from: { type: 'string' },
  },
});
const only = values.only ? new Set(values.only.toUpperCase().split(',')) : undefined;
const runs = values.quick ? 1 : Number(values.runs);
const quick = values.quick;

// This process stands in for the browsers: it runs on the far side's CPU, with the relay.
if (pinning) spawnSync('taskset', ['-apc', String(CLIENT_CPU), String(process.pid)], { stdio: 'ignore' });

const plan = [
  ['M1', './measures/m1-latency.mjs', quick ? { keys: 1000 } : {}, runs],
  ['M2', './measures/m2-flood.mjs', quick ? { keys: 300, rounds: 3, slowKeys: 100 } : {}, runs],
  ['M3', './measures/m3-throughput.mjs', quick ? { mib: 16 } : {}, runs],
  ['M5', './measures/m5-memory.mjs', quick ? { sessions: [300], mib: 64 } : {}, 1],
  ['M6', './measures/m6-capacity.mjs', quick ? { steps: [100, 250, 500, 1000], windowMs: 5000 } : {}, 1],
  ['M7', './measures/m7-attach.mjs', quick ? { attaches: 5 } : {}, runs],
  ['M8', './measures/m8-handshake.mjs', quick ? { runs: 30 } : {}, 1],
  ['M9', './measures/m9-sessions.mjs', quick ? { runMs: 3000 } : {}, runs],
  ['M10', './measures/m10-two-relays.mjs', quick ? { keys: 1000, mib: 16 } : {}, runs],
];

// A measurement that waits for something that can no longer happen leaves Node nothing to do: say so, and fail.
let measuring = 'the setup';
process.on('beforeExit', () => {
  if (measuring === undefined) return;
  process.stderr.write(`the benchmark stopped in ${measuring}: it waited for something that cannot happen any more\n`);
  process.exit(1);
});

// --from FILE re-renders the table (and with --update-docs the docs) from saved results.
const saved = values.from ? JSON.parse(readFileSync(values.from, 'utf8')) : undefined;
// The machine's own costs, before anything else runs (a re-render keeps the saved run's).
const machine = saved ? {} : machineCosts();
const results = saved?.results ?? {};
// What the kernel's memory-management threads took while each measure ran (ms of CPU per second).
const kernelMemory = { names: [], msPerS: {} };
for (const [id, module, options, times] of saved ? [] : plan) {
  if (only && !only.has(id) && !(id === 'M3' && only.has('M4'))) continue;
  const { run } = await import(module);
  const each = [];
  const before = { work: kernelMemoryWork(), at: performance.now() };
  for (let i = 0; i < times; i++) {
    process.stderr.write(`${id} run ${i + 1}/${times}…\n`);
    measuring = `${id} run ${i + 1}`;
    try {
      each.push(await run(options));
    } finally {
      removeTemp();
    }
  }
  results[id] = times > 1 ? { ...medianOf(each), runs: each } : { ...each[0], runs: each };
  const after = kernelMemoryWork();
  if (after.ms !== undefined && before.work.ms !== undefined) {
    kernelMemory.msPerS[id] = +((after.ms - before.work.ms) / ((performance.now() - before.at) / 1000)).toFixed(1);
    kernelMemory.names = after.names;
  }
}

measuring = undefined;
const environment = saved?.environment ?? {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  runs,
  quick,
  pinned: pinning,
  ...machine,
  ...(kernelMemory.names.length > 0 ? { kernelMemory } : {}),
};
const output = { environment, results, figures: figures(results) };
const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
if (!saved) writeFileSync(`${dir}latest.json`, `${JSON.stringify(output, null, 2)}\n`);
const threadsLine = environment.kernelMemory ? `\nthe kernel's memory threads, ms of CPU per second: ${JSON.stringify(environment.kernelMemory.msPerS)}` : '';
process.stdout.write(`${renderTable(output.figures)}\n${threadsLine}\nresults: bench/results/latest.json\n`);
if (values['update-docs']) {
  const docs = fileURLToPath(new URL('../docs/', import.meta.url));
  writeFileSync(`${docs}benchmarks.svg`, renderChart(output.figures));
  const peers = renderPeerChart(results);
  if (peers) writeFileSync(`${docs}benchmarks-peers.svg`, peers);
  writeFileSync(`${docs}benchmarks.json`, `${JSON.stringify(output, null, 2)}\n`);
  const page = readFileSync(`${docs}BENCHMARKS.md`, 'utf8');
    const costs = environment.syscallNs !== undefined ? `; a system call ${(environment.syscallNs / 1000).toFixed(1)} µs, a fresh page ${(environment.pageFaultNs / 1000).toFixed(1)} µs, an ArrayBuffer ${(environment.arrayBufferNs / 1000).toFixed(1)} µs (bench/lib/machine.mjs)` : '';
  const memoryThreads = environment.kernelMemory ? kernelMemoryText(environment.kernelMemory) : '';
  const when = `Measured ${environment.date.slice(0, 10)} on ${environment.cpus}, ${environment.memoryGiB} GiB, Node ${environment.node}${costs}` +
    `${environment.pinned ? ', pinned' : ''}${environment.quick ? ' (quick run)' : `, medians of ${environment.runs} runs`}${memoryThreads}. Raw results: [benchmarks.json](benchmarks.json).`;
  writeFileSync(`${docs}BENCHMARKS.md`, page.replace(/<!-- results -->[\s\S]*<!-- \/results -->/, `<!-- results -->\n${when}\n\n${renderMarkdown(output.figures)}\n<!-- /results -->`));
  process.stdout.write(`updated docs/BENCHMARKS.md, docs/benchmarks.svg${peers ? ', docs/benchmarks-peers.svg' : ''} and docs/benchmarks.json\n`);
}

/** The kernel's memory-management threads during the run: the busiest measure's share beside the least's. */
function kernelMemoryText({ names, msPerS }) {
  const shares = Object.entries(msPerS).sort((a, b) => b[1] - a[1]);
  if (shares.length === 0) return '';
  const [most] = shares;
  const least = shares[shares.length - 1];
  const span = shares.length > 1 ? `from ${least[1]} (${least[0]}) to ${most[1]} ms (${most[0]})` : `${most[1]} ms (${most[0]})`;
  return `; the kernel's memory threads (${names.join(', ')}) took ${span} of CPU per second while the measures ran`;
}
