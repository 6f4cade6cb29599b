/**
 * The client config a Flyte platform publishes through its
 * AuthMetadataService.
 *
 * @module
 */

import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import type { FetchLike } from "../context.ts";
import { once } from "../_once.ts";
import { DEFAULT_METADATA_TIMEOUT_MS, endpointUrl } from "./_endpoint.ts";

/** Options of {@linkcode RemoteClientConfigStore}. */
export interface RemoteClientConfigStoreOptions {
  /**
   * Use plain `http` for an endpoint without a scheme, and allow `http` for
   * a host that is not loopback.
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
   * How long each request may take, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
}

/**
 * A {@linkcode ClientConfig} read from a Flyte platform, with the HTTP
 * endpoint the platform names for its services, when it names one.
 */
export interface RemoteClientConfig extends ClientConfig {
  /** The platform's `service_http_endpoint`, when it gives one. */
  serviceHttpEndpoint?: string;
}

/**
 * A {@linkcode ClientConfigStore} that reads a Flyte platform's
 * `GET /config/v1/flyte_client` and
 * `GET /.well-known/oauth-authorization-server`, as flytekit does over gRPC.
 *
 * Both are read once per store, on the first call; concurrent callers share
 * the requests, and a failure is not kept: the next call asks again. Keys are
 * accepted in snake_case and camelCase, and empty strings count as absent.
 * The header key is the platform's `authorization_metadata_key`.
 *
 * Requires `--allow-net` for the platform.
 *
 * @example Reading a platform's client config
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteClientConfigStore } from "@sesame/auth";
 *
 * const store = new RemoteClientConfigStore("dns:///flyte.example.com:443");
 * // const { clientId, tokenEndpoint } = await store.getClientConfig();
 * assert.ok(store.endpoint === "https://flyte.example.com/");
 * ```
 */
export class RemoteClientConfigStore implements ClientConfigStore {
  /** The platform's base URL, as parsed from the endpoint. */
  readonly endpoint: string;
  readonly #base: URL;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #read: () => Promise<RemoteClientConfig> = once(() =>
    this.#fetchClientConfig()
  );

  /**
   * Creates a store for a platform; nothing is fetched until the client
   * config is asked for.
   *
   * @param endpoint The platform: `dns:///host:port`, `host:port` or a URL.
   * @param options Plain http, the `fetch` to call and the timeout.
   * @throws {TypeError} When `endpoint` is not a string.
   * @throws {ConfigError} When `endpoint` is not a host or URL, or is plain
   * http to a host that is not loopback without `insecure`.
   */
  constructor(endpoint: string, options: RemoteClientConfigStoreOptions = {}) {
    if (typeof endpoint !== "string") {
      throw new TypeError("RemoteClientConfigStore needs an endpoint string");
    }
    this.#base = endpointUrl(endpoint, options.insecure ?? false, "endpoint");
    this.endpoint = this.#base.href;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_METADATA_TIMEOUT_MS;
  }

  /**
   * Returns the platform's client config, reading it on the first call.
   *
   * @returns The client config.
   * @throws {TokenRequestError} When the platform cannot be reached, or
   * answers an error or something that is not JSON.
   * @throws {ConfigError} When a required field is missing.
   */
  getClientConfig(): Promise<RemoteClientConfig> {
    return this.#read();
  }

  async #fetchClientConfig(): Promise<RemoteClientConfig> {
    // Lazy: fetching and parsing are needed only on the first call, so they
    // stay out of the modules loaded at startup.
    const { readRemoteClientConfig } = await import("./_client_metadata.ts");
    return await readRemoteClientConfig(this.#base, {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
    });
  }
}
