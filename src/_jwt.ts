/**
 * Reads a JWT's `exp` claim without verifying the token.
 *
 * Not `jose`'s `decodeJwt`: this runs on every fetch, and importing `jose`
 * adds several milliseconds to process start for one `JSON.parse`.
 *
 * @param token A token that may be a JWT.
 * @returns The expiry in epoch milliseconds, or `undefined` when the token is
 * not a JWT or has no numeric `exp`.
 */
export function jwtExpiry(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const base64 = parts[1].replaceAll("-", "+").replaceAll("_", "/");
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const { exp } = JSON.parse(new TextDecoder().decode(bytes));
    return typeof exp === "number" && Number.isFinite(exp)
      ? exp * 1000
      : undefined;
  } catch {
    return undefined;
  }
}
