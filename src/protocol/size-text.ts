// A byte count for people: "1.5 MiB" from one MiB up, else whole KiB rounded up ("98 KiB"). Used wherever
// a size is shown or said (refusals, lists, progress), on the agent, the CLI and the page alike.

export function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}
