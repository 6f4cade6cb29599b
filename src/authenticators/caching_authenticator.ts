/**
 * The base class of every built-in authenticator, and the easy way to write
 * a plugin: implement `fetchCredentials` and inherit caching, refresh ahead,
 * one refresh at a time and, with a store, credentials shared across runs.
 *
 * @module
 */

import type {
  Authenticator,
  Credentials,
  GetCredentialsOptions,
  RefreshCredentialsOptions,
} from "../authenticator.ts";
import type { AuthContext, AuthEvent } from "../context.ts";
import { AuthError } from "../errors.ts";
import { jwtExpiry } from "../_jwt.ts";
import type { CredentialStore } from "../store/credential_store.ts";

const AHEAD_MAX_MS = 5 * 60_000;
const BLOCKING_MAX_MS = 10_000;

/** Options of the {@linkcode CachingAuthenticator} constructor. */
export interface CachingAuthenticatorOptions {
  /**
   * The header the token goes in.
   *
   * @default {"authorization"}
   */
  headerKey?: string;
  /**
   * The context's store, event sink and clock; the rest is ignored.
   * Without a store nothing is kept beyond this object.
   */
  context?: Partial<
    Pick<AuthContext, "credentialStore" | "onEvent" | "now">
  >;
  /**
   * The key to keep credentials under in the context's credential store, or
   * a function that works it out on first use (when it depends on the
   * client config, say); nothing is stored without it.
   */
  storeKey?: string | (() => Promise<string>);
}

/** What {@linkcode CachingAuthenticator.fetchCredentials} receives. */
export interface FetchCredentialsOptions {
  /** The credentials being replaced, with their refresh token, if any. */
  current?: Credentials;
  /** Aborted when every caller waiting for this fetch has given up. */
  signal: AbortSignal;
}

interface Flight {
  promise: Promise<Credentials>;
  controller: AbortController;
  waiting: number;
  pinned: boolean;
}

/**
 * Caches credentials and refreshes them ahead of expiry; subclasses only
 * fetch.
 *
 * - The expiry is `expiresAt` as fetched, else the access token's JWT `exp`,
 *   else unknown: unknown lasts until {@linkcode refreshCredentials}.
 * - Inside the last `min(5 min, half the lifetime)` the current token is
 *   returned at once and one refresh starts in the background; only inside
 *   the last `min(10 s, half the lifetime)` do callers wait.
 * - Concurrent callers share one fetch, and a refresh that comes back with an
 *   expiry no later than the old one is not retried before that expiry.
 * - With `storeKey`, credentials are read from and written to the context's
 *   credential store; when the store has `lock`, a refresh holds it and reads
 *   the store again first, so processes that start together fetch once.
 * - A refresh that brings no refresh token keeps the previous one.
 *
 * @example A plugin in ten lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { CachingAuthenticator, type Credentials } from "@sesame/auth";
 *
 * class StaticAuthenticator extends CachingAuthenticator {
 *   protected fetchCredentials(): Promise<Credentials> {
 *     return Promise.resolve({ accessToken: "token", expiresAt: Date.now() + 3600_000 });
 *   }
 * }
 *
 * const authenticator = new StaticAuthenticator();
 * const { accessToken } = await authenticator.getCredentials();
 * assert.ok(accessToken === "token");
 * ```
 */
export abstract class CachingAuthenticator implements Authenticator {
  #headerKey: string;
  readonly #store?: CredentialStore;
  #storeKey?: string | Promise<string> | (() => Promise<string>);
  readonly #emit?: (event: AuthEvent) => void;
  readonly #now: () => number;
  #current?: Credentials;
  #refreshAt = Infinity;
  #mustRefreshAt = Infinity;
  #flight?: Flight;

  /**
   * Creates the authenticator; nothing is fetched until credentials are asked for.
   *
   * @param options The header key, the context and the store key.
   */
  constructor(options: CachingAuthenticatorOptions = {}) {
    this.#headerKey = options.headerKey ?? "authorization";
    this.#now = options.context?.now ?? Date.now;
    this.#emit = options.context?.onEvent;
    if (options.storeKey !== undefined) {
      this.#store = options.context?.credentialStore;
      this.#storeKey = options.storeKey;
    }
  }

  /**
   * Fetches new credentials. Called by the base class only, one call at a
   * time.
   *
   * @param options The credentials being replaced and an abort signal.
   * @returns The new credentials; a missing `expiresAt` is read from the
   * token's JWT `exp` when it is one.
   */
  protected abstract fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials>;

  /**
   * The header the token goes in. A subclass whose server names the header
   * may change it on the first fetch; read it after
   * {@linkcode getCredentials}.
   *
   * @returns The header name.
   */
  get headerKey(): string {
    return this.#headerKey;
  }

  /**
   * Changes the header the token goes in, for subclasses that learn it from
   * the server.
   *
   * @param headerKey The header name.
   */
  protected setHeaderKey(headerKey: string): void {
    this.#headerKey = headerKey;
  }

  /**
   * Runs before every refresh, the first read of the store included, so a
   * subclass can learn what the server decides, such as the header key,
   * before any credentials are served. Does nothing by default.
   *
   * @param _signal Aborted when every caller waiting has given up.
   */
  protected prepare(_signal: AbortSignal): Promise<void> | void {}

  /**
   * The clock this authenticator reads, in epoch milliseconds.
   *
   * @returns The time now.
   */
  protected now(): number {
    return this.#now();
  }

  /**
   * Returns valid credentials: cached ones at once, new ones when they are
   * missing or about to expire.
   *
   * @param options An abort signal that stops this caller's wait.
   * @returns The credentials.
   */
  getCredentials(options?: GetCredentialsOptions): Promise<Credentials> {
    const current = this.#current;
    if (current === undefined) {
      return this.#join("missing", undefined, options?.signal);
    }
    const now = this.#now();
    if (now < this.#refreshAt) return this.#hit(current);
    if (now < this.#mustRefreshAt) {
      this.#refreshAhead();
      return this.#hit(current);
    }
    return this.#join("expired", undefined, options?.signal);
  }

  /**
   * Returns new credentials. With `rejected`, returns the current ones
   * without fetching when they already differ from the rejected ones, so a
   * burst of rejections costs one refresh.
   *
   * @param options The rejected credentials and an abort signal.
   * @returns The new credentials.
   */
  refreshCredentials(
    options: RefreshCredentialsOptions = {},
  ): Promise<Credentials> {
    const { rejected, signal } = options;
    const current = this.#current;
    if (rejected && current && current.accessToken !== rejected.accessToken) {
      return Promise.resolve(current);
    }
    const reason = rejected ? "rejected" : "forced";
    return this.#join(reason, current?.accessToken, signal);
  }

  #hit(current: Credentials): Promise<Credentials> {
    if (this.#emit) {
      this.#emit({
        type: "cache_hit",
        authenticator: this.constructor.name,
        expiresAt: current.expiresAt,
      });
    }
    return Promise.resolve(current);
  }

  #refreshAhead(): void {
    if (this.#flight) return;
    this.#join("ahead", undefined, undefined).catch(() => {
      // Already reported as refresh_failed; wait for the blocking window.
      this.#refreshAt = this.#mustRefreshAt;
    });
  }

  #join(
    reason: RefreshReason,
    avoid: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Credentials> {
    const flight = this.#flight ?? this.#takeOff(reason, avoid);
    return wait(flight, signal);
  }

  #takeOff(reason: RefreshReason, avoid: string | undefined): Flight {
    const controller = new AbortController();
    const flight: Flight = {
      promise: this.#refresh(reason, avoid, controller.signal),
      controller,
      waiting: 0,
      pinned: reason === "ahead",
    };
    const land = () => {
      if (this.#flight === flight) this.#flight = undefined;
    };
    flight.promise.then(land, land);
    this.#flight = flight;
    return flight;
  }

  async #refresh(
    reason: RefreshReason,
    avoid: string | undefined,
    signal: AbortSignal,
  ): Promise<Credentials> {
    this.#event({ type: "refresh_started", reason });
    try {
      await this.prepare(signal);
      return await this.#refreshFromStoreOrFetch(avoid, signal);
    } catch (error) {
      this.#event({
        type: "refresh_failed",
        code: error instanceof AuthError ? error.code : "UNEXPECTED",
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
  }

  async #refreshFromStoreOrFetch(
    avoid: string | undefined,
    signal: AbortSignal,
  ): Promise<Credentials> {
    const store = this.#store;
    const key = await this.#key();
    if (store === undefined || key === undefined) {
      return await this.#fetch(this.#current, signal);
    }
    const previous = this.#current ?? await store.get(key);
    if (this.#isUsable(previous, avoid ?? this.#current?.accessToken)) {
      return this.#adopt(previous!, "store");
    }
    const lock = await store.lock?.(key);
    try {
      const stored = lock ? await store.get(key) : undefined;
      if (this.#isUsable(stored, avoid ?? previous?.accessToken)) {
        return this.#adopt(stored!, "store");
      }
      const fresh = await this.#fetch(stored ?? previous, signal);
      await store.set(key, fresh);
      return fresh;
    } finally {
      await lock?.release();
    }
  }

  /** The store key, worked out once when it is a function. */
  #key(): Promise<string | undefined> | string | undefined {
    const key = this.#storeKey;
    if (typeof key !== "function") return key;
    const pending = key();
    this.#storeKey = pending;
    pending.then((value) => {
      this.#storeKey = value;
    }, () => {
      if (this.#storeKey === pending) this.#storeKey = key;
    });
    return pending;
  }

  async #fetch(
    current: Credentials | undefined,
    signal: AbortSignal,
  ): Promise<Credentials> {
    const fetched = await this.fetchCredentials({ current, signal });
    if (typeof fetched?.accessToken !== "string" || !fetched.accessToken) {
      throw new AuthError(
        `${this.constructor.name} returned credentials without an access token; fix its fetchCredentials()`,
      );
    }
    const fresh: Credentials = {
      ...fetched,
      expiresAt: fetched.expiresAt ?? await jwtExpiry(fetched.accessToken),
      refreshToken: fetched.refreshToken ?? current?.refreshToken,
    };
    if (fresh.refreshToken === undefined) delete fresh.refreshToken;
    if (fresh.expiresAt === undefined) delete fresh.expiresAt;
    return this.#adopt(fresh, "network");
  }

  /** Usable: present, not the token to avoid, and not about to expire. */
  #isUsable(
    credentials: Credentials | undefined,
    avoid: string | undefined,
  ): boolean {
    if (!credentials?.accessToken || credentials.accessToken === avoid) {
      return false;
    }
    const { expiresAt } = credentials;
    return expiresAt === undefined || expiresAt - this.#now() > BLOCKING_MAX_MS;
  }

  #adopt(fresh: Credentials, from: "network" | "store"): Credentials {
    const now = this.#now();
    const previous = this.#current;
    const { expiresAt } = fresh;
    this.#current = fresh;
    if (expiresAt === undefined) {
      this.#refreshAt = this.#mustRefreshAt = Infinity;
    } else if (
      from === "network" && previous?.expiresAt !== undefined &&
      expiresAt <= previous.expiresAt
    ) {
      // The source handed back a token no newer than before (a command that
      // caches, say): keep it until it expires rather than asking again.
      this.#refreshAt = this.#mustRefreshAt = expiresAt;
    } else {
      const half = Math.max(0, expiresAt - now) / 2;
      this.#refreshAt = expiresAt - Math.min(AHEAD_MAX_MS, half);
      this.#mustRefreshAt = expiresAt - Math.min(BLOCKING_MAX_MS, half);
    }
    this.#event({ type: "credentials_fetched", from, expiresAt });
    return fresh;
  }

  #event(event: DistributiveOmit<AuthEvent, "authenticator">): void {
    if (!this.#emit) return;
    try {
      this.#emit(
        { ...event, authenticator: this.constructor.name } as AuthEvent,
      );
    } catch {
      // An event sink must not break authentication.
    }
  }
}

type RefreshReason = "missing" | "ahead" | "expired" | "rejected" | "forced";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K>
  : never;

/**
 * Waits for a shared fetch. A caller's signal ends only that caller's wait;
 * the fetch itself is aborted once every caller that could abort has.
 */
function wait(flight: Flight, signal?: AbortSignal): Promise<Credentials> {
  if (!signal) {
    flight.pinned = true;
    return flight.promise;
  }
  if (signal.aborted) return Promise.reject(signal.reason);
  flight.waiting++;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", abort);
      flight.waiting--;
    };
    const abort = () => {
      settle();
      if (flight.waiting === 0 && !flight.pinned) {
        flight.controller.abort(signal.reason);
      }
      reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    flight.promise.then(
      (value) => (settle(), resolve(value)),
      (error) => (settle(), reject(error)),
    );
  });
}
