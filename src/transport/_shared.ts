/**
 * What the authenticated fetch and the Connect interceptor share.
 *
 * @module
 */

import type { Authenticator } from "../authenticator.ts";
import type { AuthEvent } from "../context.ts";

/**
 * Checks that a value keeps the {@linkcode Authenticator} contract.
 *
 * @param value The value to check.
 * @param what The argument, for the message.
 * @throws {TypeError} When a member is missing.
 */
export function checkAuthenticator(
  value: unknown,
  what: string,
): asserts value is Authenticator {
  const candidate = value as Partial<Authenticator> | null | undefined;
  if (
    typeof candidate?.headerKey !== "string" || candidate.headerKey === "" ||
    typeof candidate.getCredentials !== "function" ||
    typeof candidate.refreshCredentials !== "function"
  ) {
    throw new TypeError(
      `${what} must be an Authenticator: an object with a headerKey string and getCredentials and refreshCredentials functions`,
    );
  }
}

/**
 * Reports a replay; an event sink that throws is ignored.
 *
 * @param onEvent The sink, if any.
 * @param url Where the request went, without its query.
 * @param reason Why it is replayed.
 */
export function emitRetry(
  onEvent: ((event: AuthEvent) => void) | undefined,
  url: string,
  reason: string,
): void {
  if (!onEvent) return;
  try {
    onEvent({ type: "retry", url, attempt: 1, delayMs: 0, reason });
  } catch {
    // An event sink must not break the request.
  }
}
