/**
 * An authenticator for tests that hands out `token-1`, `token-2`, ... one
 * per fetch, and counts its fetches.
 *
 * @module
 */

import {
  CachingAuthenticator,
  type CachingAuthenticatorOptions,
  type Credentials,
} from "../../mod.ts";

/** Hands out `<prefix>-1`, `<prefix>-2`, ... one per fetch. */
export class CountingAuthenticator extends CachingAuthenticator {
  /** How many times it has fetched. */
  fetches = 0;
  readonly #prefix: string;

  constructor(prefix = "token", options?: CachingAuthenticatorOptions) {
    super(options);
    this.#prefix = prefix;
  }

  protected fetchCredentials(): Promise<Credentials> {
    this.fetches++;
    return Promise.resolve({ accessToken: `${this.#prefix}-${this.fetches}` });
  }
}
