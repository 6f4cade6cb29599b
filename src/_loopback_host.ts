/**
 * Whether a URL points at this machine, the one case where plain `http:` is
 * safe to use without `insecure`.
 *
 * @module
 */

/**
 * Tells whether a URL host name is a loopback address.
 *
 * @param hostname A `URL.hostname`.
 * @returns `true` for `localhost`, `127.0.0.0/8` and `[::1]`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return host === "localhost" || host === "[::1]" ||
    /^127(\.\d{1,3}){3}$/.test(host);
}
