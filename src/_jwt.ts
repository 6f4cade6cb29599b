import { decodeJwt } from "jose";

/**
 * Reads a JWT's `exp` claim without verifying the token.
 *
 * @param token A token that may be a JWT.
 * @returns The expiry in epoch milliseconds, or `undefined` when the token is
 * not a JWT or has no numeric `exp`.
 */
export function jwtExpiry(token: string): number | undefined {
  if (token.split(".").length !== 3) return undefined;
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === "number" && Number.isFinite(exp)
      ? exp * 1000
      : undefined;
  } catch {
    return undefined;
  }
}
