// The engine's helper threads on a small machine. Node starts V8 with four threads for background work
// (concurrent marking, sweeping, compiling) whatever the number of CPUs. On a relay with fewer CPUs than
// that, a collection's four threads take turns with the event loop for the same CPUs, a few milliseconds
// each, and every keystroke waiting in the loop waits too: in the benchmark, a relay held to one CPU with
// 2,000 sessions had a keystroke p99 of 12–15 ms with four threads and 5–7 ms with one. The pool's size is
// fixed when Node starts, so the relay cannot change it for itself; it says how to start it.

/** How many helper threads Node gives V8 unless told otherwise. */
export const DEFAULT_POOL = 4;

/** Whether Node was started with a pool size of its own choosing, on its command line or in NODE_OPTIONS. */
export function poolSizeChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const chosen = (arg: string): boolean => arg === '--v8-pool-size' || arg.startsWith('--v8-pool-size=');
  return execArgv.some(chosen) || (nodeOptions ?? '').split(/\s+/).some(chosen);
}

/** What to tell the person starting a relay with `cpus` CPUs to use, or undefined when nothing is to be gained. */
export function poolAdvice(cpus: number, execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  if (cpus >= DEFAULT_POOL || poolSizeChosen(execArgv, nodeOptions)) return undefined;
  return (
    `this relay may use ${cpus} CPU${cpus === 1 ? '' : 's'}, fewer than the engine's ${DEFAULT_POOL} helper threads, which then take turns with it ` +
    'while it collects garbage and delay keystrokes: start it with NODE_OPTIONS=--v8-pool-size=0 (one thread fewer than the CPUs)'
  );
}
