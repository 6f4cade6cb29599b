/**
 * Reads a JWT's `exp` claim, without verifying the token, with jose's
 * `decodeJwt`.
 *
 * jose is imported on the first call, and only its decoder: a process that
 * finds its credentials cached, or gets them with an expiry, never loads it.
 *
 * @module
 */

import { once } from "./_once.ts";

const loadDecoder = once(() => import("jose/jwt/decode"));

/**
 * Reads a token's expiry from its `exp` claim, when it is a JWT.
 *
 * @param token A token that may be a JWT.
 * @returns The expiry in epoch milliseconds, or `undefined` when the token is
 * not a JWT or has no numeric `exp`.
 */
export async function jwtExpiry(token: string): Promise<number | undefined> {
  // An opaque token needs no decoder: jose loads only for what looks like a JWT.
  if (token.split(".").length !== 3) return undefined;
  const { decodeJwt } = await loadDecoder();
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === "number" && Number.isFinite(exp)
      ? exp * 1000
      : undefined;
  } catch {
    return undefined;
  }
}
