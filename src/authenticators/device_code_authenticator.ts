/**
 * The `deviceflow` mode: a person approves the log-in on another device by
 * typing a code (OAuth 2.0 Device Authorization Grant, RFC 8628).
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import { type AuthContext, createAuthContext } from "../context.ts";
import { AuthError, ConfigError, TokenRequestError } from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import { credentialStoreKey } from "../store/credential_store.ts";
import { once } from "../_once.ts";
import { loadOAuth } from "./_load_oauth.ts";
import type { OAuthSettings, TokenParameters } from "./_oauth.ts";
import {
  CachingAuthenticator,
  type FetchCredentialsOptions,
} from "./caching_authenticator.ts";

/** Options of {@linkcode DeviceCodeAuthenticator}. */
export interface DeviceCodeAuthenticatorOptions {
  /**
   * The scopes to ask for; include `offline_access` (or the platform's
   * equivalent) to get a refresh token.
   *
   * @default {config.scopes ?? clientConfig.scopes}
   */
  scopes?: string[];
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? clientConfig.headerKey ?? "authorization"}
   */
  headerKey?: string;
  /**
   * How long one request may take, retries included, in milliseconds. The
   * log-in as a whole lasts until the device code expires.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * Waits between polls and retries; for tests that must not wait.
   *
   * @default {a timer}
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Logs a person in with a code they type on another device (RFC 8628), as
 * flytekit's `DeviceFlow` mode does, and keeps the login: the credentials
 * are stored in the context's credential store under
 * `endpoint|deviceflow|clientId`, and renewed with the refresh token, so
 * the person is asked again only when the refresh token no longer works.
 *
 * - The prompt goes to `context.onDevicePrompt` with the verification URI,
 *   the complete one when the server gives it, the user code and when it
 *   expires.
 * - It polls at the server's `interval` (5 s when none is given), 5 s
 *   slower after each `slow_down`, until the code expires by the context's
 *   clock, and stops when every caller's signal has aborted.
 * - A declined log-in is a {@linkcode TokenRequestError} with code
 *   `ACCESS_DENIED`; an expired one has code `EXPIRED_TOKEN`.
 * - A refresh the server refuses falls back to a new device log-in; a
 *   refresh that fails otherwise (network, 5xx, timeout) is an error, and
 *   the stored refresh token is kept either way.
 *
 * > [!NOTE]
 * > Without `options.headerKey` or `config.authorizationHeader`, `headerKey`
 * > is `"authorization"` until the first `getCredentials()` has read the
 * > platform's client config, and the platform's header key after.
 *
 * Requires `--allow-net` for the authorization server, and what the
 * context's credential store needs (`--allow-read`, `--allow-write` and
 * `--allow-env` for the default file store).
 *
 * @example Showing the prompt in a terminal
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   DeviceCodeAuthenticator,
 *   MemoryCredentialStore,
 *   StaticClientConfigStore,
 * } from "@sesame/auth";
 *
 * const authenticator = new DeviceCodeAuthenticator(
 *   { endpoint: "flyte.example.com", scopes: ["openid", "offline_access"] },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     deviceAuthorizationEndpoint: "https://idp.example.com/device/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 *   {
 *     credentialStore: new MemoryCredentialStore(),
 *     onDevicePrompt(prompt) {
 *       // Show it to the person, e.g. on stderr:
 *       // console.error(`Open ${prompt.verificationUri} and type ${prompt.userCode}`);
 *     },
 *   },
 * );
 * // const { accessToken } = await authenticator.getCredentials();
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export class DeviceCodeAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #context: AuthContext;
  readonly #options: DeviceCodeAuthenticatorOptions;
  readonly #clientConfig: () => Promise<ClientConfig>;

  /**
   * Creates the authenticator; nothing is fetched and no prompt is shown
   * until credentials are asked for.
   *
   * @param config The platform config: `endpoint`, `scopes`, `audience`,
   * `authorizationHeader` and `insecure`.
   * @param store Where the client config comes from: the public client id,
   * the token endpoint and the device authorization endpoint.
   * @param context The `fetch`, credential store, device prompt, event sink
   * and clock; defaults as in {@linkcode createAuthContext}.
   * @param options The scopes, header, request timeout and sleep.
   * @throws {TypeError} When `store` has no `getClientConfig`.
   */
  constructor(
    config: PlatformConfig,
    store: ClientConfigStore,
    context: Partial<AuthContext> = {},
    options: DeviceCodeAuthenticatorOptions = {},
  ) {
    if (typeof store?.getClientConfig !== "function") {
      throw new TypeError("DeviceCodeAuthenticator needs a ClientConfigStore");
    }
    const full = createAuthContext(config, context);
    const clientConfig = once(() => store.getClientConfig());
    super({
      headerKey: options.headerKey ?? config.authorizationHeader,
      context: full,
      storeKey: async () => {
        const { clientId, authorizationEndpoint } = await clientConfig();
        const endpoint = config.endpoint || authorizationEndpoint;
        return credentialStoreKey(endpoint, "deviceflow", clientId);
      },
    });
    this.#config = config;
    this.#context = full;
    this.#options = options;
    this.#clientConfig = clientConfig;
  }

  /**
   * Refreshes with the current refresh token when there is one; when the
   * server refuses it, or there is none, runs a device log-in.
   *
   * @param options The credentials being replaced and an abort signal.
   * @returns The new credentials.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const { current, signal } = options;
    const settings = this.#settings(await this.#clientConfig());
    if (current?.refreshToken) {
      const { refreshTokenGrant } = await loadOAuth();
      try {
        return await refreshTokenGrant(
          settings,
          current.refreshToken,
          {},
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (!isRefused(error)) throw error;
        this.#reportRefreshFailure(error);
      }
    }
    return await this.#logIn(settings, signal);
  }

  async #logIn(
    settings: OAuthSettings,
    signal: AbortSignal,
  ): Promise<Credentials> {
    const { deviceAuthorizationGrant, pollDeviceAuthorization } =
      await loadOAuth();
    const authorization = await deviceAuthorizationGrant(
      settings,
      this.#parameters(await this.#clientConfig()),
      signal,
    );
    await this.#context.onDevicePrompt({
      kind: "device",
      verificationUri: authorization.verificationUri,
      ...(authorization.verificationUriComplete && {
        verificationUriComplete: authorization.verificationUriComplete,
      }),
      userCode: authorization.userCode,
      expiresAt: authorization.expiresAt,
    });
    return await pollDeviceAuthorization(settings, authorization, signal);
  }

  #settings(clientConfig: ClientConfig): OAuthSettings {
    if (!clientConfig.deviceAuthorizationEndpoint) {
      throw new ConfigError(
        `Cannot use the device flow with client "${clientConfig.clientId}": the platform's client config has no device authorization endpoint; use another auth mode, such as pkce`,
      );
    }
    return {
      tokenEndpoint: clientConfig.tokenEndpoint,
      deviceAuthorizationEndpoint: clientConfig.deviceAuthorizationEndpoint,
      issuer: clientConfig.issuer,
      clientId: clientConfig.clientId,
      clientAuthentication: "none",
      insecure: this.#config.insecure,
      context: this.#context,
      timeoutMs: this.#options.timeoutMs,
      sleep: this.#options.sleep,
    };
  }

  #parameters(clientConfig: ClientConfig): TokenParameters {
    return {
      scopes: this.#options.scopes ?? this.#config.scopes ??
        clientConfig.scopes,
      audience: this.#config.audience ?? clientConfig.audience,
    };
  }

  /**
   * Learns the platform's header key from the client config, unless the
   * config or options name one.
   */
  protected override async prepare(): Promise<void> {
    if (this.#options.headerKey ?? this.#config.authorizationHeader) return;
    const { headerKey } = await this.#clientConfig();
    if (headerKey) this.setHeaderKey(headerKey);
  }

  #reportRefreshFailure(error: unknown): void {
    try {
      this.#context.onEvent({
        type: "refresh_failed",
        authenticator: "DeviceCodeAuthenticator",
        code: error instanceof AuthError ? error.code : "UNEXPECTED",
        message: error instanceof Error ? error.message : String(error),
      });
    } catch {
      // An event sink must not break authentication.
    }
  }
}

/**
 * Whether the server refused a refresh token (an OAuth error such as
 * `invalid_grant`), as opposed to failing to answer: only then is a new
 * log-in worth the person's time.
 */
function isRefused(error: unknown): boolean {
  return error instanceof TokenRequestError && error.error !== undefined &&
    error.status !== undefined && error.status >= 400 && error.status < 500;
}
