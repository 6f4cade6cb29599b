/**
 * An auth plugin for pods: sends the Kubernetes service-account token that
 * the kubelet projects into a file, or exchanges it for the platform's own
 * access token (OAuth 2.0 token exchange, RFC 8693).
 *
 * The file is `/var/run/secrets/kubernetes.io/serviceaccount/token` unless
 * the `tokenFile` option or `SESAME_KUBERNETES_TOKEN_FILE` names another.
 * The kubelet rewrites a projected token before it expires; the file is read
 * again when the token nears its `exp`, and when a server rejects it. The
 * exchange is on with the `exchange` option or `SESAME_TOKEN_EXCHANGE=true`;
 * it posts to the config's `tokenUrl`, else the client config's token
 * endpoint, as the config's (else the client config's) client id.
 *
 * @example Registering it for another token file, exchanged
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { kubernetesToken } from "@sesame/auth/plugins/kubernetes_token";
 *
 * registerAuthenticatorPlugin(
 *   "k8s",
 *   kubernetesToken({ tokenFile: "/var/run/secrets/flyte/token", exchange: true }),
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
import { DEFAULT_TIMEOUT_MS } from "./_http.ts";
import {
  checkOptionTypes,
  type EnvReader,
  envReader,
  readFlag,
  readSourceFile,
} from "./_sources.ts";
import { EXCHANGE_ENV, exchangeToken } from "./_token_exchange.ts";

const DEFAULT_TOKEN_FILE =
  "/var/run/secrets/kubernetes.io/serviceaccount/token";
const TOKEN_FILE_ENV = "SESAME_KUBERNETES_TOKEN_FILE";

/**
 * Options of {@linkcode KubernetesTokenAuthenticator} and
 * {@linkcode kubernetesToken}.
 */
export interface KubernetesTokenOptions {
  /**
   * The projected service-account token file.
   *
   * @default {SESAME_KUBERNETES_TOKEN_FILE, else "/var/run/secrets/kubernetes.io/serviceaccount/token"}
   */
  tokenFile?: string;
  /**
   * Exchange the token at the platform's token endpoint instead of sending
   * it as it is.
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
   * How long the exchange may take, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /** Environment variables to read instead of the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Sends a pod's projected service-account token, or what the platform's
 * token endpoint exchanges it for.
 *
 * Requires `--allow-read` for the token file, `--allow-env`, and
 * `--allow-net` for the exchange.
 *
 * @example Reading a token file
 * ```ts
 * import assert from "node:assert/strict";
 * import { KubernetesTokenAuthenticator } from "@sesame/auth/plugins/kubernetes_token";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/token`, "a-projected-token");
 * const authenticator = new KubernetesTokenAuthenticator({}, undefined, {}, {
 *   tokenFile: `${dir}/token`,
 *   env: {},
 * });
 * const { accessToken } = await authenticator.getCredentials();
 * assert.ok(accessToken === "a-projected-token");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class KubernetesTokenAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #store?: ClientConfigStore;
  readonly #fetch: FetchLike;
  readonly #options: KubernetesTokenOptions;
  readonly #readEnv: EnvReader;

  /**
   * Creates the authenticator; nothing is read until credentials are asked
   * for.
   *
   * @param config The platform config: `tokenUrl`, `clientId`, `scopes` and
   * `authorizationHeader`.
   * @param store The client config, for the exchange's token endpoint and
   * client id when the config has none.
   * @param context The `fetch`, the clock and the event sink.
   * @param options The token file, the exchange, the header, the
   * environment.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(
    config: PlatformConfig = {},
    store?: ClientConfigStore,
    context?: Partial<AuthContext>,
    options: KubernetesTokenOptions = {},
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
   * Reads the token file, and exchanges the token when asked to.
   *
   * @param options The abort signal of the callers waiting.
   * @returns The token; its expiry is its JWT `exp`, or the exchange's
   * `expires_in`.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const token = await this.#readToken();
    const exchange = this.#options.exchange ??
      readFlag(this.#readEnv, EXCHANGE_ENV) ?? false;
    if (!exchange) return { accessToken: token };

    return await exchangeToken({
      subjectToken: token,
      config: this.#config,
      store: this.#store,
      fetch: this.#fetch,
      signal: options.signal,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      now: () => this.now(),
    });
  }

  async #readToken(): Promise<string> {
    const file = this.#options.tokenFile ?? this.#readEnv(TOKEN_FILE_ENV) ??
      DEFAULT_TOKEN_FILE;
    const text = await readSourceFile(
      file,
      "the Kubernetes service-account token file",
      `run in a pod with a service-account token, or set ${TOKEN_FILE_ENV} to its path`,
    );
    const token = text.trim();
    if (token === "" || /\s/.test(token)) {
      throw new ConfigError(
        `Cannot read the Kubernetes service-account token file "${file}": it ${
          token === "" ? "is empty" : "holds more than one word"
        }; check the projected volume that writes it`,
      );
    }
    return token;
  }
}

/**
 * Returns a plugin that sends or exchanges a pod's service-account token,
 * to register under a mode name.
 *
 * Requires `--allow-read` for the token file, `--allow-env`, and
 * `--allow-net` for the exchange.
 *
 * @param options The token file, the exchange, the header, the environment.
 * @returns The plugin's factory.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example Registering it
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { kubernetesToken } from "@sesame/auth/plugins/kubernetes_token";
 *
 * registerAuthenticatorPlugin("k8s", kubernetesToken({ exchange: true }));
 * ```
 */
export function kubernetesToken(
  options: KubernetesTokenOptions = {},
): AuthenticatorFactory {
  checkOptions(options);
  return function kubernetesTokenWithOptions(config, store, context) {
    return new KubernetesTokenAuthenticator(config, store, context, options);
  };
}

/**
 * The plugin's default factory, found through `auth.plugins`: it reads
 * `SESAME_KUBERNETES_TOKEN_FILE` and `SESAME_TOKEN_EXCHANGE`.
 *
 * Requires `--allow-read` for the token file, `--allow-env`, and
 * `--allow-net` for the exchange.
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
 * import createKubernetesTokenAuthenticator from "@sesame/auth/plugins/kubernetes_token";
 *
 * const authenticator = createKubernetesTokenAuthenticator(
 *   {},
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
export default function createKubernetesTokenAuthenticator(
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
): KubernetesTokenAuthenticator {
  return new KubernetesTokenAuthenticator(config, store, context);
}

function checkOptions(options: KubernetesTokenOptions): void {
  checkOptionTypes("kubernetesToken()", options, {
    strings: ["tokenFile", "headerKey"],
    booleans: ["exchange"],
    positiveNumbers: ["timeoutMs"],
  });
}
