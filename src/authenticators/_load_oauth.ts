/**
 * The OAuth protocol module, imported when an authenticator first needs a
 * token from a server, and kept: a program that finds its token cached never
 * loads it, and later requests skip the module loader, whose round trip
 * costs more than the rest of a cached lookup.
 *
 * @module
 */

let protocol: Promise<typeof import("./_oauth.ts")> | undefined;

/**
 * Imports `_oauth.ts` once.
 *
 * @returns The module.
 */
export function loadOAuth(): Promise<typeof import("./_oauth.ts")> {
  if (protocol === undefined) {
    protocol = import("./_oauth.ts");
    // A failed import is not kept, so the next request tries again.
    protocol.catch(() => protocol = undefined);
  }
  return protocol;
}
