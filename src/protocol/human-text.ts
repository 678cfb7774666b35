// Sizes, durations and ages for people, said the same way wherever they are shown: on the agent's
// terminal, by the CLI and on the page.

/** A byte count: "1.5 MiB" from one MiB up, else whole KiB rounded up ("98 KiB"). */
export function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** How far a transfer got: "42 %" (an empty one is complete). */
export function percentText(done: number, total: number): string {
  return `${total === 0 ? 100 : Math.floor((100 * done) / total)} %`;
}

/** A duration as a clock: "0:07", "12:30", "1:02:03" (whole seconds, never rounded up). */
export function clockText(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const [h, m] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60)];
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** How long ago `time` (ms since the epoch) was: "just now", "40 s ago", "3 min ago", "2 h ago", "5 d ago". */
export function agoText(time: number, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - time) / 1000));
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}
