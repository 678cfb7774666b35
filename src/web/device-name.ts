// The name this device pairs under, from what the browser says about itself ("Chrome on Android"), so
// that the agent's list of devices reads like the person's own list. The person can revoke by it.

/** A short name for this browser and system. */
export function deviceName(userAgent: string = navigator.userAgent): string {
  const browser =
    /Edg\//.test(userAgent) ? 'Edge'
    : /Firefox\//.test(userAgent) ? 'Firefox'
    : /(Chrome|CriOS)\//.test(userAgent) ? 'Chrome'
    : /Safari\//.test(userAgent) ? 'Safari'
    : 'Browser';
  const system =
    /Android/.test(userAgent) ? 'Android'
    : /iPhone/.test(userAgent) ? 'iPhone'
    : /iPad/.test(userAgent) ? 'iPad'
    : /Mac OS X|Macintosh/.test(userAgent) ? 'Mac'
    : /Windows/.test(userAgent) ? 'Windows'
    : /Linux/.test(userAgent) ? 'Linux'
    : undefined;
  return system ? `${browser} on ${system}` : browser;
}
