/**
 * The contract every authenticator keeps, built in or plugged in.
 *
 * @module
 */

/**
 * What an authenticator hands out.
 *
 * @example Credentials with a known expiry
 * ```ts
 * import type { Credentials } from "@sesame/auth";
 *
 * const credentials: Credentials = {
 *   accessToken: "an-opaque-token",
 *   expiresAt: Date.now() + 3600_000,
 * };
 * ```
 */
export interface Credentials {
  /** The token to send. */
  accessToken: string;
  /** A refresh token, when the server issued one. */
  refreshToken?: string;
  /** An OpenID Connect ID token, when the server issued one. */
  idToken?: string;
  /** When the access token expires, in epoch milliseconds; unknown if absent. */
  expiresAt?: number;
  /** The endpoint these credentials were issued for. */
  forEndpoint?: string;
}

/** Options of {@linkcode Authenticator.getCredentials}. */
export interface GetCredentialsOptions {
  /** Stops waiting when aborted; a shared refresh goes on for the others. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Authenticator.refreshCredentials}. */
export interface RefreshCredentialsOptions {
  /** Stops waiting when aborted; a shared refresh goes on for the others. */
  signal?: AbortSignal;
  /**
   * The credentials a server just rejected. When the current credentials
   * are already different, they are returned without a new fetch.
   */
  rejected?: Credentials;
}

/**
 * Gets credentials for a platform and keeps them fresh.
 *
 * @example A fixed token
 * ```ts
 * import type { Authenticator } from "@sesame/auth";
 *
 * const fixed: Authenticator = {
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "t" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
 * };
 * ```
 */
export interface Authenticator {
  /** The header the token goes in: `"authorization"` or the server's key. */
  readonly headerKey: string;
  /**
   * Returns valid credentials, from the cache when it can.
   *
   * @param options An abort signal.
   * @returns The credentials to send.
   */
  getCredentials(options?: GetCredentialsOptions): Promise<Credentials>;
  /**
   * Returns new credentials, after a server rejected the current ones.
   *
   * @param options An abort signal and the rejected credentials.
   * @returns The new credentials.
   */
  refreshCredentials(options?: RefreshCredentialsOptions): Promise<Credentials>;
}
