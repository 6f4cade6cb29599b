/**
 * Credential stores keep credentials between calls and, for the file store,
 * between processes.
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";

/** A held lock on one key of a {@linkcode CredentialStore}. */
export interface CredentialLock {
  /** Releases the lock; calling it twice is harmless. */
  release(): Promise<void>;
}

/**
 * Keeps credentials under a key such as `endpoint|mode|clientId`.
 *
 * A store shared by processes implements `lock`: {@linkcode
 * CachingAuthenticator} then holds it around a refresh and reads the store
 * again under it, so processes that start together fetch once.
 */
export interface CredentialStore {
  /**
   * Reads the credentials under a key.
   *
   * @param key The key.
   * @returns The credentials, or `undefined` when none are stored.
   */
  get(key: string): Promise<Credentials | undefined>;
  /**
   * Stores credentials under a key, replacing what was there.
   *
   * @param key The key.
   * @param credentials The credentials to keep.
   */
  set(key: string, credentials: Credentials): Promise<void>;
  /**
   * Deletes what is stored under a key; a missing key is not an error.
   *
   * @param key The key.
   */
  delete(key: string): Promise<void>;
  /**
   * Lists the keys that have credentials, for log-out and diagnostics.
   *
   * @returns The keys, in no particular order.
   */
  keys?(): Promise<string[]>;
  /**
   * Takes an exclusive lock on a key across processes, waiting for it.
   *
   * @param key The key.
   * @returns The held lock.
   */
  lock?(key: string): Promise<CredentialLock>;
}

/**
 * A {@linkcode CredentialStore} in this process's memory.
 *
 * @example Keeping credentials in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryCredentialStore } from "@sesame/auth";
 *
 * const store = new MemoryCredentialStore();
 * await store.set("k", { accessToken: "t" });
 * assert.ok((await store.get("k"))?.accessToken === "t");
 * ```
 */
export class MemoryCredentialStore implements CredentialStore {
  readonly #entries = new Map<string, Credentials>();

  /**
   * Reads the credentials under a key.
   *
   * @param key The key.
   * @returns A copy of the credentials, or `undefined`.
   */
  get(key: string): Promise<Credentials | undefined> {
    const found = this.#entries.get(key);
    return Promise.resolve(found && { ...found });
  }

  /**
   * Stores a copy of the credentials under a key.
   *
   * @param key The key.
   * @param credentials The credentials to keep.
   */
  set(key: string, credentials: Credentials): Promise<void> {
    this.#entries.set(key, { ...credentials });
    return Promise.resolve();
  }

  /**
   * Deletes what is stored under a key.
   *
   * @param key The key.
   */
  delete(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  /**
   * Lists the keys that have credentials.
   *
   * @returns The keys, in the order they were first set.
   */
  keys(): Promise<string[]> {
    return Promise.resolve([...this.#entries.keys()]);
  }
}

/**
 * Builds the key a login is stored under: `endpoint|mode|clientId`.
 *
 * @param endpoint The platform endpoint, as configured.
 * @param mode The auth mode, such as `"pkce"`.
 * @param clientId The OAuth client id.
 * @returns The key.
 *
 * @example The key of a PKCE login
 * ```ts
 * import assert from "node:assert/strict";
 * import { credentialStoreKey } from "@sesame/auth";
 *
 * const key = credentialStoreKey("https://flyte.example.com", "pkce", "flytectl");
 * assert.ok(key === "https://flyte.example.com|pkce|flytectl");
 * ```
 */
export function credentialStoreKey(
  endpoint: string,
  mode: string,
  clientId: string,
): string {
  for (const [name, value] of Object.entries({ endpoint, mode, clientId })) {
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot build a credential store key: ${name} must be a string`,
      );
    }
  }
  return `${endpoint}|${mode}|${clientId}`;
}
