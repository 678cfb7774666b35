// `ccremote doctor`: checks what a first run needs and prints one line per check, with what to do about
// each failure. Exits 0 when everything is in order, 1 otherwise.

import { checkSetup, type CheckResult } from '../doctor/checks.js';
import { VERSION } from '../version.js';
import type { Parsed } from './options.js';
import type { Printer } from './printer.js';

/** `ccremote doctor`. */
export async function doctorCommand(parsed: Parsed, printer: Printer): Promise<number> {
  printer.line(`ccremote ${VERSION}: checking what it needs on this computer`);
  const print = (result: CheckResult): void => {
    printer.event({ event: 'check', ...result });
    printer.line(result.ok ? `  ✓ ${result.detail}` : `  ✗ ${result.detail} → ${result.fix}`);
  };
  const results = await checkSetup(
    { relayUrl: parsed.values.relay as string | undefined, configDir: parsed.values['config-dir'] as string | undefined },
    print,
  );
  const problems = results.filter((r) => !r.ok).length;
  printer.event({ event: 'done', ok: problems === 0, problems });
  printer.line(problems === 0 ? 'Everything ccremote needs is in place.' : `${problems} problem${problems === 1 ? '' : 's'} found.`);
  return problems === 0 ? 0 : 1;
}
