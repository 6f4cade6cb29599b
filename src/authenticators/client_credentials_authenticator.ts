/**
 * The `client_credentials` mode (also `basic` and `clientsecret`): a service
 * gets a token with its own client id and secret (RFC 6749 §4.4).
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import { type AuthContext, createAuthContext } from "../context.ts";
import { ConfigError } from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import { credentialStoreKey } from "../store/credential_store.ts";
import { once } from "../_once.ts";
import { loadOAuth } from "./_load_oauth.ts";
import type { OAuthSettings } from "./_oauth.ts";
import {
  CachingAuthenticator,
  type FetchCredentialsOptions,
} from "./caching_authenticator.ts";

/** Options of {@linkcode ClientCredentialsAuthenticator}. */
export interface ClientCredentialsAuthenticatorOptions {
  /**
   * How the client sends its secret: in a `Basic` header, or in the body.
   *
   * @default {"client_secret_basic"}
   */
  clientAuthentication?: "client_secret_basic" | "client_secret_post";
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
  timeoutMs?: number;
  /**
   * Waits between retries; for tests that must not wait.
   *
   * @default {a timer}
   */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const AUTHENTICATIONS = ["client_secret_basic", "client_secret_post"];

/**
 * Gets tokens for a service with its client id and secret, as flytekit's
 * `ClientCredentials` mode does, caching each until shortly before it
 * expires.
 *
 * - The client id and secret are `config.clientId` and
 *   `config.clientCredentialsSecret`; the secret goes in a `Basic` header
 *   unless `clientAuthentication` is `"client_secret_post"`.
 * - The scopes and audience are the config's, else the client config's.
 * - `config.tokenUrl` is used as the token endpoint without reading the
 *   client config at all; otherwise the client config's `tokenEndpoint` is.
 * - The token is kept in the context's credential store under
 *   `endpoint|client_credentials|clientId`, so processes that share the
 *   store share the token.
 *
 * > [!NOTE]
 * > Without `options.headerKey` or `config.authorizationHeader`, `headerKey`
 * > is `"authorization"` until the first `getCredentials()` has read the
 * > platform's client config, and the platform's header key after.
 *
 * Requires `--allow-net` for the token endpoint, and what the context's
 * credential store needs (`--allow-read`, `--allow-write` and `--allow-env`
 * for the default file store).
 *
 * @example A service account
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   ClientCredentialsAuthenticator,
 *   MemoryCredentialStore,
 *   StaticClientConfigStore,
 * } from "@sesame/auth";
 *
 * const authenticator = new ClientCredentialsAuthenticator(
 *   {
 *     endpoint: "flyte.example.com",
 *     clientId: "ci-bot",
 *     clientCredentialsSecret: "from-a-secret-manager",
 *     tokenUrl: "https://idp.example.com/oauth2/token",
 *     scopes: ["all"],
 *   },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/oauth2/token",
 *     authorizationEndpoint: "https://idp.example.com/oauth2/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 *   { credentialStore: new MemoryCredentialStore() },
 *   { clientAuthentication: "client_secret_post" },
 * );
 * // const { accessToken } = await authenticator.getCredentials();
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export class ClientCredentialsAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #clientId: string;
  readonly #clientSecret: string;
  readonly #context: AuthContext;
  readonly #options: ClientCredentialsAuthenticatorOptions;
  readonly #clientConfig: () => Promise<ClientConfig | undefined>;

  /**
   * Creates the authenticator; nothing is fetched until credentials are
   * asked for.
   *
   * @param config The platform config: `clientId`,
   * `clientCredentialsSecret`, and optionally `tokenUrl`, `scopes`,
   * `audience`, `authorizationHeader`, `insecure` and `endpoint`.
   * @param store Where the client config comes from; unused with `tokenUrl`.
   * @param context The `fetch`, credential store, event sink and clock;
   * defaults as in {@linkcode createAuthContext}.
   * @param options The client authentication, header, timeout and sleep.
   * @throws {ConfigError} When the client id or secret is missing.
   * @throws {TypeError} When `store` is needed but has no
   * `getClientConfig`, or `clientAuthentication` is not a known method.
   */
  constructor(
    config: PlatformConfig,
    store: ClientConfigStore | undefined,
    context: Partial<AuthContext> = {},
    options: ClientCredentialsAuthenticatorOptions = {},
  ) {
    const clientId = requireSetting(
      config.clientId,
      "client id",
      "clientId (admin.clientId, or FLYTE_CREDENTIALS_CLIENT_ID)",
    );
    const clientSecret = requireSetting(
      config.clientCredentialsSecret,
      "client secret",
      "clientCredentialsSecret (admin.clientSecretLocation or admin.clientSecretEnvVar, or FLYTE_CREDENTIALS_CLIENT_SECRET)",
    );
    checkOptions(config, store, options);
    const full = createAuthContext(config, context);
    super({
      headerKey: options.headerKey ?? config.authorizationHeader,
      context: full,
      storeKey: credentialStoreKey(
        config.endpoint || config.tokenUrl || "",
        "client_credentials",
        clientId,
      ),
    });
    this.#config = config;
    this.#clientId = clientId;
    this.#clientSecret = clientSecret;
    this.#context = full;
    this.#options = options;
    this.#clientConfig = config.tokenUrl
      ? () => Promise.resolve(undefined)
      : once(() => store!.getClientConfig());
  }

  /**
   * Asks the token endpoint for a token with the client's id and secret.
   *
   * @param options The abort signal of the callers waiting.
   * @returns The token and its expiry.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const clientConfig = await this.#clientConfig();
    const settings: OAuthSettings = {
      tokenEndpoint: this.#config.tokenUrl || clientConfig!.tokenEndpoint,
      clientId: this.#clientId,
      clientSecret: this.#clientSecret,
      clientAuthentication: this.#options.clientAuthentication ??
        "client_secret_basic",
      insecure: this.#config.insecure,
      context: this.#context,
      timeoutMs: this.#options.timeoutMs,
      sleep: this.#options.sleep,
    };
    const { clientCredentialsGrant } = await loadOAuth();
    return await clientCredentialsGrant(settings, {
      scopes: this.#config.scopes ?? clientConfig?.scopes,
      audience: this.#config.audience ?? clientConfig?.audience,
    }, options.signal);
  }

  /**
   * Learns the platform's header key from the client config, unless the
   * config or options name one.
   */
  protected override async prepare(): Promise<void> {
    if (this.#options.headerKey ?? this.#config.authorizationHeader) return;
    const headerKey = (await this.#clientConfig())?.headerKey;
    if (headerKey) this.setHeaderKey(headerKey);
  }
}

function requireSetting(
  value: string | undefined,
  what: string,
  setting: string,
): string {
  if (typeof value === "string" && value !== "") return value;
  throw new ConfigError(
    `Cannot use client credentials: no ${what} is set; set ${setting}`,
  );
}

function checkOptions(
  config: PlatformConfig,
  store: ClientConfigStore | undefined,
  options: ClientCredentialsAuthenticatorOptions,
): void {
  const method = options.clientAuthentication;
  if (method !== undefined && !AUTHENTICATIONS.includes(method)) {
    throw new TypeError(
      `Cannot use client authentication "${method}": use "client_secret_basic" or "client_secret_post"`,
    );
  }
  if (!config.tokenUrl && typeof store?.getClientConfig !== "function") {
    throw new TypeError(
      "ClientCredentialsAuthenticator needs a ClientConfigStore, or config.tokenUrl",
    );
  }
}
