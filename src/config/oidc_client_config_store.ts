/**
 * The client config of any OpenID Connect provider, from its discovery
 * document and a client registered with it.
 *
 * @module
 */

import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import type { FetchLike } from "../context.ts";
import { once } from "../_once.ts";
import { ConfigError } from "../errors.ts";
import { DEFAULT_METADATA_TIMEOUT_MS, endpointUrl } from "./_endpoint.ts";

const DISCOVERY_PATH = ".well-known/openid-configuration";

/** Options of {@linkcode OidcClientConfigStore}. */
export interface OidcClientConfigStoreOptions {
  /** The issuer: a URL, `host:port` or `dns:///host:port`. */
  issuer: string;
  /** The id of the client registered with the issuer. */
  clientId: string;
  /**
   * The redirect URI registered for the client.
   *
   * @default {"http://localhost:53593/callback"}
   */
  redirectUri?: string;
  /** The scopes to ask for; the authenticator's defaults when absent. */
  scopes?: string[];
  /** The audience the tokens are for, when the issuer needs one. */
  audience?: string;
  /**
   * The header the token goes in.
   *
   * @default {"authorization"}
   */
  headerKey?: string;
  /**
   * Use plain `http` for an issuer without a scheme, and allow `http` for a
   * host that is not loopback.
   *
   * @default {false}
   */
  insecure?: boolean;
  /**
   * The `fetch` to call; pass `AuthContext.fetch` to honour the config's CA
   * file and proxy.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * How long the discovery request may take, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
}

/**
 * A {@linkcode ClientConfigStore} for any OpenID Connect provider: the
 * endpoints come from the issuer's `/.well-known/openid-configuration`, the
 * client from the options.
 *
 * The document is read once per store, on the first call; concurrent callers
 * share the request, and a failure is not kept: the next call asks again.
 *
 * > [!NOTE]
 * > The document's `issuer` must equal the configured issuer (OpenID Connect
 * > Discovery 1.0, section 4.3), trailing slash aside; a provider whose
 * > document names a templated issuer needs a tenant-specific issuer.
 *
 * Requires `--allow-net` for the issuer.
 *
 * @example Configuring a provider
 * ```ts
 * import assert from "node:assert/strict";
 * import { OidcClientConfigStore } from "@sesame/auth";
 *
 * const store = new OidcClientConfigStore({
 *   issuer: "https://idp.example.com",
 *   clientId: "flytectl",
 *   scopes: ["openid", "offline_access"],
 * });
 * // const { tokenEndpoint } = await store.getClientConfig();
 * assert.ok(store.issuer === "https://idp.example.com");
 * ```
 */
export class OidcClientConfigStore implements ClientConfigStore {
  /** The issuer, as a URL without a trailing slash. */
  readonly issuer: string;
  readonly #options: OidcClientConfigStoreOptions;
  readonly #discoveryUrl: URL;
  readonly #fetch: FetchLike;
  readonly #read: () => Promise<ClientConfig> = once(() =>
    this.#fetchClientConfig()
  );

  /**
   * Creates a store for an issuer; nothing is fetched until the client
   * config is asked for.
   *
   * @param options The issuer, the client, and how to reach the issuer.
   * @throws {TypeError} When `issuer` or `clientId` is not a string.
   * @throws {ConfigError} When `issuer` is not a host or URL, or `clientId`
   * is empty.
   */
  constructor(options: OidcClientConfigStoreOptions) {
    if (
      typeof options?.issuer !== "string" ||
      typeof options.clientId !== "string"
    ) {
      throw new TypeError(
        "OidcClientConfigStore needs an issuer string and a clientId string",
      );
    }
    if (options.clientId.trim() === "") {
      throw new ConfigError(
        `Cannot use the issuer "${options.issuer}" without a client id; pass the clientId registered with it`,
      );
    }
    const base = endpointUrl(
      options.issuer,
      options.insecure ?? false,
      "issuer",
    );
    this.issuer = base.href.replace(/\/$/, "");
    this.#discoveryUrl = new URL(DISCOVERY_PATH, base);
    this.#options = { ...options, scopes: options.scopes?.slice() };
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * Returns the client config, reading the discovery document on the first
   * call.
   *
   * @returns The client config.
   * @throws {TokenRequestError} When the issuer cannot be reached, or
   * answers an error or something that is not JSON.
   * @throws {ConfigError} When the document names another issuer or lacks
   * an endpoint.
   */
  getClientConfig(): Promise<ClientConfig> {
    return this.#read();
  }

  async #fetchClientConfig(): Promise<ClientConfig> {
    // Lazy: fetching and parsing are needed only on the first call, so they
    // stay out of the modules loaded at startup.
    const { readOidcClientConfig } = await import("./_client_metadata.ts");
    return await readOidcClientConfig(this.#discoveryUrl, {
      issuer: this.issuer,
      fetch: this.#fetch,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS,
      client: this.#options,
    });
  }
}
