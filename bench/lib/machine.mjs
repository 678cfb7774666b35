// What the machine's kernel and allocator cost, measured at the start of a run and kept with its results:
// the figures of runs on different machines (or the same machine on another day) differ by these as much
// as by the code, so a reader can tell which.

import { fstatSync } from 'node:fs';

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
