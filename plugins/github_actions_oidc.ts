/**
 * An auth plugin for GitHub Actions: sends the workflow's OIDC token, or
 * exchanges it for the platform's own access token (OAuth 2.0 token
 * exchange, RFC 8693), so a workflow needs no stored secret.
 *
 * The token comes from `ACTIONS_ID_TOKEN_REQUEST_URL` with the bearer
 * `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, which GitHub sets in jobs that have
 * `permissions: id-token: write`. Its audience is the `audience` option,
 * else the config's `audience`, else GitHub's default (the owner's URL).
 * The exchange is on with the `exchange` option or
 * `SESAME_TOKEN_EXCHANGE=true`; it posts to the config's `tokenUrl`, else
 * the client config's token endpoint, as the config's (else the client
 * config's) client id.
 *
 * @example Registering it, exchanged for the platform's token
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { githubActionsOidc } from "@sesame/auth/plugins/github_actions_oidc";
 *
 * registerAuthenticatorPlugin(
 *   "github",
 *   githubActionsOidc({ audience: "https://flyte.example.com", exchange: true }),
 * );
 * ```
 *
 * @module
 */

import {
  type AuthContext,
  type AuthenticatorFactory,
  CachingAuthenticator,
  type ClientConfigStore,
  ConfigError,
  type Credentials,
  type FetchCredentialsOptions,
  type FetchLike,
  type PlatformConfig,
} from "../mod.ts";
import {
  DEFAULT_TIMEOUT_MS,
  missingField,
  requestJson,
  safeUrl,
} from "./_http.ts";
import {
  checkOptionTypes,
  type EnvReader,
  envReader,
  readFlag,
} from "./_sources.ts";
import { EXCHANGE_ENV, exchangeToken } from "./_token_exchange.ts";

const REQUEST_URL_ENV = "ACTIONS_ID_TOKEN_REQUEST_URL";
const REQUEST_TOKEN_ENV = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/**
 * Options of {@linkcode GithubActionsOidcAuthenticator} and
 * {@linkcode githubActionsOidc}.
 */
export interface GithubActionsOidcOptions {
  /**
   * The audience to ask the OIDC token for.
   *
   * @default {config.audience, else GitHub's default}
   */
  audience?: string;
  /**
   * Exchange the OIDC token at the platform's token endpoint instead of
   * sending it as it is.
   *
   * @default {SESAME_TOKEN_EXCHANGE, else false}
   */
  exchange?: boolean;
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? "authorization"}
   */
  headerKey?: string;
  /**
   * How long each request may take, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /** Environment variables to read instead of the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Sends a GitHub Actions OIDC token, or what the platform's token endpoint
 * exchanges it for.
 *
 * Requires `--allow-env` and `--allow-net`.
 *
 * @example Constructing it for an audience
 * ```ts
 * import assert from "node:assert/strict";
 * import { GithubActionsOidcAuthenticator } from "@sesame/auth/plugins/github_actions_oidc";
 *
 * const authenticator = new GithubActionsOidcAuthenticator(
 *   { audience: "https://flyte.example.com" },
 * );
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export class GithubActionsOidcAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #store?: ClientConfigStore;
  readonly #fetch: FetchLike;
  readonly #options: GithubActionsOidcOptions;
  readonly #readEnv: EnvReader;

  /**
   * Creates the authenticator; nothing is requested until credentials are
   * asked for.
   *
   * @param config The platform config: `audience`, and for the exchange
   * `tokenUrl`, `clientId` and `scopes`.
   * @param store The client config, for the exchange's token endpoint and
   * client id when the config has none.
   * @param context The `fetch`, the clock and the event sink.
   * @param options The audience, the exchange, the header, the environment.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(
    config: PlatformConfig = {},
    store?: ClientConfigStore,
    context?: Partial<AuthContext>,
    options: GithubActionsOidcOptions = {},
  ) {
    checkOptions(options);
    super({
      headerKey: options.headerKey ?? config.authorizationHeader ??
        "authorization",
      context,
    });
    this.#config = config;
    this.#store = store;
    this.#fetch = context?.fetch ?? ((input, init) => fetch(input, init));
    this.#options = { ...options };
    this.#readEnv = envReader(options.env);
  }

  /**
   * Requests the OIDC token, and exchanges it when asked to.
   *
   * @param options The abort signal of the callers waiting.
   * @returns The token; its expiry is its JWT `exp`, or the exchange's
   * `expires_in`.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const timeoutMs = this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const token = await this.#requestOidcToken(options.signal, timeoutMs);
    const exchange = this.#options.exchange ??
      readFlag(this.#readEnv, EXCHANGE_ENV) ?? false;
    if (!exchange) return { accessToken: token };

    return await exchangeToken({
      subjectToken: token,
      config: this.#config,
      store: this.#store,
      fetch: this.#fetch,
      signal: options.signal,
      timeoutMs,
      now: () => this.now(),
    });
  }

  async #requestOidcToken(
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<string> {
    const { url, bearer } = this.#requestSettings();
    const audience = this.#options.audience ?? this.#config.audience;
    if (audience) url.searchParams.set("audience", audience);

    const words = {
      what: "get the GitHub Actions OIDC token",
      hint: "check that the job has permissions: id-token: write",
    };
    const json = await requestJson(url, {
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: "application/json",
      },
    }, { fetch: this.#fetch, signal, timeoutMs, ...words });
    if (typeof json.value !== "string" || json.value === "") {
      throw missingField(url, "value", words);
    }
    return json.value;
  }

  #requestSettings(): { url: URL; bearer: string } {
    const requestUrl = this.#readEnv(REQUEST_URL_ENV);
    const bearer = this.#readEnv(REQUEST_TOKEN_ENV);
    if (requestUrl === undefined || bearer === undefined) {
      const missing = [
        requestUrl === undefined ? REQUEST_URL_ENV : [],
        bearer === undefined ? REQUEST_TOKEN_ENV : [],
      ].flat().join(" and ");
      throw new ConfigError(
        `Cannot get the GitHub Actions OIDC token: ${missing} ${
          missing.includes(" and ") ? "are" : "is"
        } not set; run in a GitHub Actions job that has "permissions: id-token: write"`,
      );
    }
    const url = safeUrl(requestUrl);
    if (url === undefined) {
      throw new ConfigError(
        `Cannot get the GitHub Actions OIDC token: ${REQUEST_URL_ENV} "${requestUrl}" is not an https URL; leave it as GitHub sets it`,
      );
    }
    return { url, bearer };
  }
}

/**
 * Returns a plugin that sends or exchanges the GitHub Actions OIDC token,
 * to register under a mode name.
 *
 * Requires `--allow-env` and `--allow-net`.
 *
 * @param options The audience, the exchange, the header, the environment.
 * @returns The plugin's factory.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example Registering it
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { githubActionsOidc } from "@sesame/auth/plugins/github_actions_oidc";
 *
 * registerAuthenticatorPlugin("github", githubActionsOidc({ exchange: true }));
 * ```
 */
export function githubActionsOidc(
  options: GithubActionsOidcOptions = {},
): AuthenticatorFactory {
  checkOptions(options);
  return function githubActionsOidcWithOptions(config, store, context) {
    return new GithubActionsOidcAuthenticator(config, store, context, options);
  };
}

/**
 * The plugin's default factory, found through `auth.plugins`: it reads the
 * `ACTIONS_ID_TOKEN_REQUEST_*` variables and `SESAME_TOKEN_EXCHANGE`.
 *
 * Requires `--allow-env` and `--allow-net`.
 *
 * @param config The platform config.
 * @param store The client config store.
 * @param context The context.
 * @returns The authenticator.
 *
 * @example Calling it directly
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthContext, StaticClientConfigStore } from "@sesame/auth";
 * import createGithubActionsOidcAuthenticator from "@sesame/auth/plugins/github_actions_oidc";
 *
 * const authenticator = createGithubActionsOidcAuthenticator(
 *   { audience: "https://flyte.example.com" },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 *   createAuthContext({}),
 * );
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export default function createGithubActionsOidcAuthenticator(
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
): GithubActionsOidcAuthenticator {
  return new GithubActionsOidcAuthenticator(config, store, context);
}

function checkOptions(options: GithubActionsOidcOptions): void {
  checkOptionTypes("githubActionsOidc()", options, {
    strings: ["audience", "headerKey"],
    booleans: ["exchange"],
    positiveNumbers: ["timeoutMs"],
  });
}
