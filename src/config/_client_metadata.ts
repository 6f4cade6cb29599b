/**
 * Reads the metadata behind the client config stores: a Flyte platform's
 * client config and authorization server metadata, or an OpenID Connect
 * discovery document, and maps it to a {@linkcode ClientConfig}.
 *
 * Loaded lazily, with `await import(...)`, by `RemoteClientConfigStore` and
 * `OidcClientConfigStore` the first time their client config is asked for.
 *
 * @module
 */

import type { ClientConfig } from "../client_config.ts";
import type { FetchLike } from "../context.ts";
import { ConfigError, TokenRequestError } from "../errors.ts";
import type {
  OidcClientConfigStoreOptions,
} from "./oidc_client_config_store.ts";
import type { RemoteClientConfig } from "./remote_client_config_store.ts";

const CLIENT_CONFIG_PATH = "config/v1/flyte_client";
const SERVER_METADATA_PATH = ".well-known/oauth-authorization-server";

/** The redirect URI flytectl registers, used when none is given. */
const DEFAULT_REDIRECT_URI = "http://localhost:53593/callback";

/** How to reach a platform or issuer. */
export interface MetadataRequestOptions {
  /** The `fetch` to call. */
  fetch: FetchLike;
  /** How long each request may take, in milliseconds. */
  timeoutMs: number;
}

/**
 * Reads a Flyte platform's client config and authorization server metadata
 * and maps them to a frozen {@linkcode RemoteClientConfig}.
 *
 * @param base The platform's base URL, as parsed from the endpoint.
 * @param options The `fetch` to call and the timeout of each request.
 * @returns The client config.
 * @throws {TokenRequestError} When the platform cannot be reached, or
 * answers an error or something that is not JSON.
 * @throws {ConfigError} When a required field is missing.
 */
export async function readRemoteClientConfig(
  base: URL,
  options: MetadataRequestOptions,
): Promise<RemoteClientConfig> {
  const clientUrl = new URL(CLIENT_CONFIG_PATH, base);
  const serverUrl = new URL(SERVER_METADATA_PATH, base);
  const hint =
    `check the endpoint "${base.href}" and that the platform is reachable with auth enabled`;
  const read = (url: URL, what: string) =>
    fetchJsonObject(url, {
      fetch: options.fetch,
      what,
      hint,
      timeoutMs: options.timeoutMs,
    });
  const [client, server] = await Promise.all([
    read(clientUrl, "the client config"),
    read(serverUrl, "the authorization server metadata"),
  ]);
  return Object.freeze(toClientConfig(client, clientUrl, server, serverUrl));
}

function toClientConfig(
  client: Record<string, unknown>,
  clientUrl: URL,
  server: Record<string, unknown>,
  serverUrl: URL,
): RemoteClientConfig {
  const config: RemoteClientConfig = {
    tokenEndpoint: required(
      readUrl(server, "token_endpoint", serverUrl),
      "token_endpoint",
      serverUrl,
    ),
    authorizationEndpoint: required(
      readUrl(server, "authorization_endpoint", serverUrl),
      "authorization_endpoint",
      serverUrl,
    ),
    redirectUri: required(
      readString(client, "redirect_uri"),
      "redirect_uri",
      clientUrl,
    ),
    clientId: required(readString(client, "client_id"), "client_id", clientUrl),
  };
  const optional: Partial<RemoteClientConfig> = {
    deviceAuthorizationEndpoint: readUrl(
      server,
      "device_authorization_endpoint",
      serverUrl,
    ),
    scopes: readScopes(client, "scopes"),
    headerKey: readString(client, "authorization_metadata_key")?.toLowerCase(),
    audience: readString(client, "audience"),
    serviceHttpEndpoint: readString(client, "service_http_endpoint"),
    issuer: readString(server, "issuer"),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) Object.assign(config, { [key]: value });
  }
  return config;
}

function required(
  value: string | undefined,
  field: string,
  url: URL,
): string {
  if (value !== undefined) return value;
  throw new ConfigError(
    `Cannot use the client config from "${url}": "${field}" is missing or empty; configure the platform's auth, or pass a StaticClientConfigStore with the value`,
  );
}

/** What {@linkcode readOidcClientConfig} needs besides the document's URL. */
export interface OidcReadOptions extends MetadataRequestOptions {
  /** The configured issuer, as a URL without a trailing slash. */
  issuer: string;
  /** The client registered with the issuer, as the store was given it. */
  client: Pick<
    OidcClientConfigStoreOptions,
    "clientId" | "redirectUri" | "scopes" | "audience" | "headerKey"
  >;
}

/**
 * Reads an OpenID Connect discovery document, checks that it names the
 * configured issuer, and maps it and the client to a frozen
 * {@linkcode ClientConfig}.
 *
 * @param url The URL of the discovery document.
 * @param options The issuer, the client, the `fetch` and the timeout.
 * @returns The client config.
 * @throws {TokenRequestError} When the issuer cannot be reached, or
 * answers an error or something that is not JSON.
 * @throws {ConfigError} When the document names another issuer or lacks
 * an endpoint.
 */
export async function readOidcClientConfig(
  url: URL,
  options: OidcReadOptions,
): Promise<ClientConfig> {
  const { issuer } = options;
  const document = await fetchJsonObject(url, {
    fetch: options.fetch,
    what: "the OpenID configuration",
    hint: `check the issuer "${issuer}" and that it is reachable`,
    timeoutMs: options.timeoutMs,
  });

  const named = checkIssuer(readString(document, "issuer"), issuer, url);
  return Object.freeze(
    toOidcClientConfig(document, url, named, options.client),
  );
}

/** Returns the issuer as the document spells it, when it is the one asked for. */
function checkIssuer(
  found: string | undefined,
  issuer: string,
  url: URL,
): string {
  if (found !== undefined && found.replace(/\/$/, "") === issuer) return found;
  throw new ConfigError(
    `Cannot use the OpenID configuration from "${url}": it names the issuer "${
      found ?? ""
    }" instead of "${issuer}"; set issuer to the value the provider names`,
  );
}

function toOidcClientConfig(
  document: Record<string, unknown>,
  url: URL,
  issuer: string,
  client: OidcReadOptions["client"],
): ClientConfig {
  const { clientId, redirectUri, scopes, audience, headerKey } = client;
  const endpoint = (field: string) => {
    const value = readUrl(document, field, url);
    if (value !== undefined) return value;
    throw new ConfigError(
      `Cannot use the OpenID configuration from "${url}": "${field}" is missing or empty; check that the issuer supports the authorization code flow`,
    );
  };
  const config: ClientConfig = {
    tokenEndpoint: endpoint("token_endpoint"),
    authorizationEndpoint: endpoint("authorization_endpoint"),
    redirectUri: redirectUri || DEFAULT_REDIRECT_URI,
    clientId,
    // As the document spells it: ID tokens carry this exact value.
    issuer,
  };
  const device = readUrl(document, "device_authorization_endpoint", url);
  if (device) config.deviceAuthorizationEndpoint = device;
  if (scopes?.length) config.scopes = scopes.slice();
  if (audience) config.audience = audience;
  if (headerKey) config.headerKey = headerKey;
  return config;
}

/** What {@linkcode fetchJsonObject} needs besides the URL. */
interface FetchJsonOptions {
  /** The `fetch` to call. */
  fetch: FetchLike;
  /** What is being read, for messages: "the client config". */
  what: string;
  /** What to do when it fails, for messages. */
  hint: string;
  /** How long the request may take, in milliseconds. */
  timeoutMs: number;
}

/**
 * GETs a URL that must answer a JSON object.
 *
 * @param url The URL.
 * @param options The `fetch`, the words for messages and the timeout.
 * @returns The object.
 * @throws {TokenRequestError} When the server cannot be reached, answers an
 * error status or something that is not a JSON object.
 */
async function fetchJsonObject(
  url: URL,
  options: FetchJsonOptions,
): Promise<Record<string, unknown>> {
  const { what, hint, timeoutMs } = options;
  const fail = (reason: string, status?: number, cause?: unknown) =>
    new TokenRequestError(
      `Cannot read ${what} from "${url}": ${reason}; ${hint}`,
      { status, cause },
    );
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await send(url, options.fetch, controller.signal, fail);
    if (!response.ok) {
      await response.body?.cancel();
      throw fail(
        `the server answered HTTP ${response.status}`,
        response.status,
      );
    }
    return await readObject(response, fail);
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    throw new TokenRequestError(
      `Cannot read ${what} from "${url}": no answer within ${timeoutMs} ms; ${hint}`,
      { cause: error },
      "TIMEOUT",
    );
  } finally {
    clearTimeout(timer);
  }
}

type Fail = (
  reason: string,
  status?: number,
  cause?: unknown,
) => TokenRequestError;

async function send(
  url: URL,
  fetchFn: FetchLike,
  signal: AbortSignal,
  fail: Fail,
): Promise<Response> {
  try {
    return await fetchFn(url, {
      headers: { accept: "application/json" },
      signal,
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw fail(`the request failed (${reason})`, undefined, cause);
  }
}

async function readObject(
  response: Response,
  fail: Fail,
): Promise<Record<string, unknown>> {
  const type = response.headers.get("content-type") ?? "none";
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw fail(
      `the answer is not JSON (content type "${type}")`,
      response.status,
      cause,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw fail("the answer is not a JSON object", response.status);
  }
  return json as Record<string, unknown>;
}

/**
 * Reads a string field under its snake_case or camelCase name; an empty
 * string or another type counts as absent.
 *
 * @param json The object.
 * @param name The snake_case name.
 * @returns The value, or `undefined`.
 */
function readString(
  json: Record<string, unknown>,
  name: string,
): string | undefined {
  for (const key of [name, camelCase(name)]) {
    const value = json[key];
    if (typeof value === "string" && value.trim() !== "") return value.trim();
  }
  return undefined;
}

/**
 * Reads a list of scopes, given as an array or a space-separated string;
 * empty entries are dropped and an empty list counts as absent.
 *
 * @param json The object.
 * @param name The snake_case name.
 * @returns The scopes, or `undefined`.
 */
function readScopes(
  json: Record<string, unknown>,
  name: string,
): string[] | undefined {
  for (const key of [name, camelCase(name)]) {
    const value = json[key];
    const list = typeof value === "string"
      ? value.split(/\s+/)
      : Array.isArray(value)
      ? value.filter((scope) => typeof scope === "string")
      : [];
    const scopes = list.map((scope) => scope.trim()).filter(Boolean);
    if (scopes.length > 0) return scopes;
  }
  return undefined;
}

/**
 * Reads an endpoint URL field, resolving a relative one against the URL the
 * metadata came from.
 *
 * @param json The object.
 * @param name The snake_case name.
 * @param base The URL of the metadata.
 * @returns The absolute URL, or `undefined`.
 */
function readUrl(
  json: Record<string, unknown>,
  name: string,
  base: URL,
): string | undefined {
  const value = readString(json, name);
  if (value === undefined) return undefined;
  try {
    return new URL(value, base).href;
  } catch {
    return undefined;
  }
}

function camelCase(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
