// What the machine's kernel and allocator cost, measured at the start of a run and kept with its results:
// the figures of runs on different machines (or the same machine on another day) differ by these as much
// as by the code, so a reader can tell which.

import { fstatSync, readdirSync, readFileSync } from 'node:fs';
import { readStat } from './procs.mjs';

/** Nanoseconds per call of `fn`, the best of three rounds of `n` calls. */
function perCall(fn, n) {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    best = Math.min(best, Number(process.hrtime.bigint() - start) / n);
  }
  return best;
}

/** A system call (fstat of stdout), the first touch of a fresh page of memory, and an ArrayBuffer of 128 bytes, in ns. */
export function machineCosts() {
  const syscallNs = perCall(() => fstatSync(1), 20_000);
  // 64 MiB never touched before: each 4 KiB page is a page fault, and the kernel (or the hypervisor) finds it memory.
  const pages = (64 << 20) / 4096;
  let pageFaultNs = Infinity;
  for (let round = 0; round < 3; round++) {
    const fresh = Buffer.allocUnsafeSlow(64 << 20);
    const start = process.hrtime.bigint();
    for (let at = 0; at < fresh.length; at += 4096) fresh[at] = 1;
    pageFaultNs = Math.min(pageFaultNs, Number(process.hrtime.bigint() - start) / pages);
  }
  const arrayBufferNs = perCall(() => new ArrayBuffer(128), 20_000);
  return { syscallNs: Math.round(syscallNs), pageFaultNs: Math.round(pageFaultNs), arrayBufferNs: Math.round(arrayBufferNs) };
}

/**
 * The kernel's own memory-management threads (kswapd, kcompactd, khugepaged, and kdamond, the DAMON monitor
 * some virtual machines run to give idle memory back to their host): their CPU time so far, in ms, and
 * which ran. They run on their own schedule, in bursts that hold a CPU for milliseconds (kdamond on one
 * machine: 8–30 ms every half second, once 305 ms), so a benchmark's tails depend on them: the run
 * reports what they took while each measure ran. Where /proc cannot say, `ms` is undefined.
 */
export function kernelMemoryWork() {
  let ms = 0;
  const names = new Set();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const { name, fields } = readStat(`/proc/${entry}/stat`);
        if (Number(fields[1]) !== 2 || !KERNEL_MEMORY_THREAD.test(name)) continue; // children of kthreadd only
        ms += Number(readFileSync(`/proc/${entry}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
        names.add(name.replace(/[\d.:/]+$/, ''));
      } catch {
        // a process that ended while being read
      }
    }
  } catch {
    return { ms: undefined, names: [] };
  }
  return { ms, names: [...names].sort() };
}

const KERNEL_MEMORY_THREAD = /^(kdamond|kswapd|kcompactd|khugepaged)/;
