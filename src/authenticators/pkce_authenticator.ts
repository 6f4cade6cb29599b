/**
 * The `standard` and `pkce` modes: a person logs in in a browser, and the
 * authorization code comes back to a loopback listener (RFC 6749 with PKCE,
 * RFC 7636, for native apps, RFC 8252).
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import { type AuthContext, createAuthContext } from "../context.ts";
import { AuthError, ConfigError, TokenRequestError } from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import { credentialStoreKey } from "../store/credential_store.ts";
import { isLoopbackHost } from "../_loopback_host.ts";
import type { LoopbackListener } from "./_loopback.ts";
import { loadOAuth } from "./_load_oauth.ts";
import type { OAuthSettings } from "./_oauth.ts";
import {
  CachingAuthenticator,
  type FetchCredentialsOptions,
} from "./caching_authenticator.ts";

const DEFAULT_TIMEOUT_MS = 2 * 60_000;
const OFFLINE_ACCESS = "offline_access";

/** Options of {@linkcode PkceAuthenticator}. */
export interface PkceAuthenticatorOptions {
  /**
   * How long to wait for the person to log in, in milliseconds.
   *
   * @default {120000}
   */
  timeoutMs?: number;
  /**
   * The scopes to ask for.
   *
   * @default {config.scopes ?? clientConfig.scopes}
   */
  scopes?: string[];
  /**
   * The `prompt` parameter of the authorization request; `""` sends none.
   *
   * @default {"consent" when the scopes hold "offline_access", else none}
   */
  prompt?: string;
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? clientConfig.headerKey ?? "authorization"}
   */
  headerKey?: string;
  /**
   * How long one token request may take, retries included, in milliseconds.
   *
   * @default {30000}
   */
  requestTimeoutMs?: number;
  /**
   * Waits between retries of a token request; injectable for tests.
   *
   * @default {a timer}
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Logs a person in through their browser with the authorization code flow
 * and PKCE (S256), and keeps the login: the credentials are stored in the
 * context's credential store under `endpoint|pkce|clientId`, and renewed
 * with the refresh token, so the browser opens again only when the refresh
 * token no longer works.
 *
 * Each log-in uses a fresh code verifier and state, listens on the client's
 * loopback redirect URI (`http` on `127.0.0.1`, `[::1]` or `localhost`; a
 * URI without a port gets a free one), opens the browser with
 * `context.openBrowser`, and waits for the redirect for at most `timeoutMs`.
 * When the browser cannot be opened, the URL goes to `context.onDevicePrompt`
 * as a `"browser"` prompt so the person can open it by hand. Stray requests
 * to the listener (a `/favicon.ico`, say) get a 404 and the wait goes on.
 *
 * > [!NOTE]
 * > Refresh tokens usually need the `offline_access` scope; with it, the
 * > request carries `prompt=consent`, as OpenID Connect Core 1.0 section 11
 * > requires. Flyte platforms name their own scopes in the client config,
 * > and they are used unchanged.
 *
 * > [!NOTE]
 * > Without `options.headerKey` or `config.authorizationHeader`, `headerKey`
 * > is `"authorization"` until the first `getCredentials()` has read the
 * > platform's client config, and the platform's header key after.
 *
 * Requires `--allow-net` for the authorization server and the loopback
 * listener, and what the context's credential store and browser opener need.
 *
 * @example Logging in with a platform's client config
 * ```ts
 * import assert from "node:assert/strict";
 * import { PkceAuthenticator, StaticClientConfigStore } from "@sesame/auth";
 *
 * const shown: string[] = [];
 * const authenticator = new PkceAuthenticator(
 *   { endpoint: "flyte.example.com", scopes: ["openid", "offline_access"] },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 *   { onDevicePrompt: (prompt) => void shown.push(prompt.verificationUri) },
 *   { timeoutMs: 5 * 60_000 },
 * );
 * // const { accessToken } = await authenticator.getCredentials();
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export class PkceAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #store: ClientConfigStore;
  readonly #context: AuthContext;
  readonly #options: PkceAuthenticatorOptions;

  /**
   * Creates the authenticator; nothing is fetched and no browser opens until
   * credentials are asked for.
   *
   * @param config The platform config: `endpoint`, `scopes`,
   * `authorizationHeader`.
   * @param store Where the client config comes from.
   * @param context The `fetch`, credential store, browser opener, prompt,
   * event sink and clock; defaults as in {@linkcode createAuthContext}.
   * @param options The timeout, scopes, prompt and header key.
   * @throws {TypeError} When `store` has no `getClientConfig`.
   */
  constructor(
    config: PlatformConfig,
    store: ClientConfigStore,
    context: Partial<AuthContext> = {},
    options: PkceAuthenticatorOptions = {},
  ) {
    if (typeof store?.getClientConfig !== "function") {
      throw new TypeError("PkceAuthenticator needs a ClientConfigStore");
    }
    const full = createAuthContext(config, context);
    const key = async () => {
      const { clientId, authorizationEndpoint } = await store
        .getClientConfig();
      const endpoint = config.endpoint || authorizationEndpoint;
      return credentialStoreKey(endpoint, "pkce", clientId);
    };
    super({
      headerKey: options.headerKey ?? config.authorizationHeader,
      context: full,
      storeKey: key,
    });
    this.#config = config;
    this.#store = store;
    this.#context = full;
    this.#options = options;
  }

  /**
   * Refreshes with the current refresh token when there is one, else, or
   * when the server refuses it, logs the person in through the browser.
   *
   * @param options The credentials being replaced and an abort signal.
   * @returns The new credentials.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const { current, signal } = options;
    const clientConfig = await this.#store.getClientConfig();
    if (current?.refreshToken) {
      const { refreshTokenGrant } = await loadOAuth();
      try {
        return await refreshTokenGrant(
          this.#oauthSettings(clientConfig),
          current.refreshToken,
          {},
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // Only a refusal calls for a new log-in: after a network error or a
        // failing server the refresh token may still be good next time.
        if (!isRefusal(error)) throw error;
        this.#reportRefreshFailure(error);
      }
    }
    return await this.#logIn(clientConfig, signal);
  }

  async #logIn(
    clientConfig: ClientConfig,
    signal: AbortSignal,
  ): Promise<Credentials> {
    // Only a browser log-in needs the listener: it loads with the first one.
    const { listenOnLoopback, loopbackRedirect } = await import(
      "./_loopback.ts"
    );
    const { authorizationCodeGrant, newPkceSecrets } = await loadOAuth();
    const redirect = loopbackRedirect(clientConfig.redirectUri);
    const { verifier, challenge, state } = await newPkceSecrets();
    signal.throwIfAborted();

    const listener = listenOnLoopback(redirect, state);
    let callback: URLSearchParams;
    try {
      const url = this.#authorizationUrl(clientConfig, listener, {
        state,
        code_challenge: challenge,
        code_challenge_method: "S256",
      });
      callback = await this.#waitForCallback(listener, url, signal);
    } finally {
      await listener.close();
    }
    return await authorizationCodeGrant(this.#oauthSettings(clientConfig), {
      callback,
      expectedState: state,
      redirectUri: listener.redirectUri,
      codeVerifier: verifier,
    }, signal);
  }

  #oauthSettings(clientConfig: ClientConfig): OAuthSettings {
    return {
      tokenEndpoint: clientConfig.tokenEndpoint,
      issuer: clientConfig.issuer,
      clientId: clientConfig.clientId,
      insecure: this.#config.insecure,
      context: this.#context,
      timeoutMs: this.#options.requestTimeoutMs,
      sleep: this.#options.sleep,
    };
  }

  #authorizationUrl(
    clientConfig: ClientConfig,
    listener: LoopbackListener,
    pkce: Record<string, string>,
  ): string {
    const url = this.#authorizationEndpoint(clientConfig);
    const scopes = this.#scopes(clientConfig);
    const prompt = this.#options.prompt ??
      (scopes?.includes(OFFLINE_ACCESS) ? "consent" : "");
    const params: Record<string, string | undefined> = {
      response_type: "code",
      client_id: clientConfig.clientId,
      redirect_uri: listener.redirectUri,
      scope: scopes?.join(" "),
      audience: this.#config.audience ?? clientConfig.audience,
      prompt: prompt || undefined,
      ...pkce,
    };
    for (const [name, value] of Object.entries(params)) {
      if (value) url.searchParams.set(name, value);
    }
    return url.href;
  }

  #authorizationEndpoint(clientConfig: ClientConfig): URL {
    const value = clientConfig.authorizationEndpoint;
    const url = URL.canParse(value) ? new URL(value) : undefined;
    const plain = url?.protocol === "http:" && !this.#config.insecure &&
      !isLoopbackHost(url.hostname);
    if (url && !plain && url.protocol.startsWith("http")) return url;
    throw new ConfigError(
      `Cannot send the person to the authorization endpoint "${value}": it is not an https URL (plain http only with insecure, or to this machine); fix the platform's client config`,
    );
  }

  #scopes(clientConfig: ClientConfig): string[] | undefined {
    const scopes = this.#options.scopes ?? this.#config.scopes ??
      clientConfig.scopes;
    return scopes?.length ? scopes : undefined;
  }

  /** Shows the URL and waits for the redirect, the timeout or the abort. */
  async #waitForCallback(
    listener: LoopbackListener,
    url: string,
    signal: AbortSignal,
  ): Promise<URLSearchParams> {
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const { promise, resolve, reject } = Promise.withResolvers<
      URLSearchParams
    >();
    listener.callback.then(resolve, reject);
    const timer = setTimeout(() => reject(timeoutError(timeoutMs)), timeoutMs);
    const abort = () => reject(signal.reason);
    signal.addEventListener("abort", abort, { once: true });
    this.#show(url, this.now() + timeoutMs).catch(reject);
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    }
  }

  async #show(url: string, expiresAt: number): Promise<void> {
    try {
      await this.#context.openBrowser(url);
    } catch {
      await this.#context.onDevicePrompt({
        kind: "browser",
        verificationUri: url,
        userCode: "",
        expiresAt,
      });
    }
  }

  /**
   * Learns the platform's header key from the client config, unless the
   * config or options name one.
   */
  protected override async prepare(): Promise<void> {
    this.#adoptHeaderKey(await this.#store.getClientConfig());
  }

  #adoptHeaderKey(clientConfig: ClientConfig): void {
    if (this.#options.headerKey ?? this.#config.authorizationHeader) return;
    if (!clientConfig.headerKey) return;
    this.setHeaderKey(clientConfig.headerKey);
  }

  #reportRefreshFailure(error: unknown): void {
    try {
      this.#context.onEvent({
        type: "refresh_failed",
        authenticator: "PkceAuthenticator",
        code: error instanceof AuthError ? error.code : "UNEXPECTED",
        message: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // An event sink must not break authentication.
    }
  }
}

function isRefusal(error: unknown): boolean {
  if (!(error instanceof TokenRequestError)) return false;
  const { status } = error;
  return error.error !== undefined ||
    (status !== undefined && status >= 400 && status < 500);
}

function timeoutError(timeoutMs: number): AuthError {
  return new AuthError(
    `Cannot finish the log-in: no redirect came back within ${
      timeoutMs / 1000
    } s; log in again, and finish in the browser within that time`,
    undefined,
    "TIMEOUT",
  );
}
