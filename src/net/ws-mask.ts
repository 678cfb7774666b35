// Masking of the frames a WebSocket client sends. It protects proxies that can read the traffic from
// payloads a web page chose; through TLS, or to this machine's loopback, no proxy reads it, so a client of
// ours skips the cost there (an all-zero mask is applied by neither side). Elsewhere frames are masked.

/** Whether frames sent to `url` (http, https, ws or wss) need no masking: TLS, or a loopback address. */
export function unmaskedTo(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'https:' || protocol === 'wss:' || hostname === 'localhost' || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname === '[::1]';
}

/** The `ws` client options for sending to `url`: the all-zero mask where no masking is needed (unmaskedTo). */
export function maskOptions(url: string): { generateMask?: (mask: Buffer) => void } {
  return unmaskedTo(url) ? { generateMask: (mask: Buffer) => void mask.fill(0) } : {};
}
