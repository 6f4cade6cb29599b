/**
 * Client config: the OAuth endpoints and client a platform tells its users
 * to use, and the stores that provide it.
 *
 * @module
 */

/**
 * The OAuth endpoints and public client of a platform, as Flyte's
 * `/config/v1/flyte_client` and the authorization server metadata give them.
 */
export interface ClientConfig {
  /** Where tokens are requested. */
  tokenEndpoint: string;
  /** Where a person is sent to log in. */
  authorizationEndpoint: string;
  /** The redirect URI registered for the public client. */
  redirectUri: string;
  /** The public client's id. */
  clientId: string;
  /** Where a device flow starts (RFC 8628), when the server has one. */
  deviceAuthorizationEndpoint?: string;
  /** The scopes the platform asks for. */
  scopes?: string[];
  /** The header the platform reads the token from. */
  headerKey?: string;
  /** The audience the platform expects in its tokens. */
  audience?: string;
  /**
   * The authorization server's issuer identifier, from its metadata. When
   * set, an ID token in a token response is checked against it (`iss`, and
   * `aud`, `exp` and `iat`) before it is handed out; when not, an ID token is
   * passed on unchecked.
   */
  issuer?: string;
}

/** Provides a platform's {@linkcode ClientConfig}, fetching it at most once. */
export interface ClientConfigStore {
  /**
   * Returns the client config.
   *
   * @returns The client config.
   */
  getClientConfig(): Promise<ClientConfig>;
}

/**
 * A {@linkcode ClientConfigStore} that holds a client config given in code.
 *
 * @example Holding a client config given in code
 * ```ts
 * import assert from "node:assert/strict";
 * import { StaticClientConfigStore } from "@sesame/auth";
 *
 * const store = new StaticClientConfigStore({
 *   tokenEndpoint: "https://idp.example.com/token",
 *   authorizationEndpoint: "https://idp.example.com/auth",
 *   redirectUri: "http://localhost:53593/callback",
 *   clientId: "flytectl",
 * });
 * const { clientId } = await store.getClientConfig();
 * assert.ok(clientId === "flytectl");
 * ```
 */
export class StaticClientConfigStore implements ClientConfigStore {
  readonly #clientConfig: ClientConfig;

  /**
   * Creates a store that holds the given client config.
   *
   * @param clientConfig The client config to hand out.
   * @throws {TypeError} When `clientConfig` is not an object.
   */
  constructor(clientConfig: ClientConfig) {
    if (typeof clientConfig !== "object" || clientConfig === null) {
      throw new TypeError(
        "StaticClientConfigStore needs a ClientConfig object",
      );
    }
    this.#clientConfig = Object.freeze({ ...clientConfig });
  }

  /**
   * Returns the client config given to the constructor.
   *
   * @returns The client config.
   */
  getClientConfig(): Promise<ClientConfig> {
    return Promise.resolve(this.#clientConfig);
  }
}
