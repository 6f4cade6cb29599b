/**
 * OAuth 2.0 token exchange (RFC 8693): trades a workload's JWT, from GitHub
 * Actions or a Kubernetes service account, for the platform's access token.
 * Internal to the plugins.
 *
 * @module
 */

import {
  type ClientConfigStore,
  ConfigError,
  type Credentials,
  type FetchLike,
  type PlatformConfig,
} from "../mod.ts";
import { missingField, postForm, safeUrl } from "./_http.ts";

/** The grant type of RFC 8693, section 2.1. */
export const TOKEN_EXCHANGE_GRANT =
  "urn:ietf:params:oauth:grant-type:token-exchange";
/** The token type of a JWT subject token (RFC 8693, section 3). */
export const JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt";
/** The token type asked for: an access token. */
export const ACCESS_TOKEN_TYPE =
  "urn:ietf:params:oauth:token-type:access_token";

/** The environment variable that turns the exchange on. */
export const EXCHANGE_ENV = "SESAME_TOKEN_EXCHANGE";

/** What {@linkcode exchangeToken} needs. */
export interface TokenExchangeOptions {
  /** The workload's JWT. */
  subjectToken: string;
  /** Where the token endpoint (`tokenUrl`), client id and scopes come from. */
  config: PlatformConfig;
  /** The client config, for the token endpoint and client id when the config has none. */
  store?: ClientConfigStore;
  /** The context's `fetch`. */
  fetch: FetchLike;
  /** Aborted when every caller has given up. */
  signal: AbortSignal;
  /** How long the request may take, in milliseconds. */
  timeoutMs: number;
  /** The time now, for `expires_in`, in epoch milliseconds. */
  now: () => number;
}

/**
 * Exchanges a JWT for an access token at the platform's token endpoint.
 *
 * @param options The subject token, where to send it, and how.
 * @returns The access token, with its expiry when the server gives
 * `expires_in`.
 * @throws {ConfigError} When no token endpoint or client id is known.
 * @throws {TokenRequestError} When the request fails.
 */
export async function exchangeToken(
  options: TokenExchangeOptions,
): Promise<Credentials> {
  const { config } = options;
  const { tokenUrl, clientId } = await endpointAndClient(options);
  const form: Record<string, string> = {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: options.subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    client_id: clientId,
  };
  if (config.scopes?.length) form.scope = config.scopes.join(" ");

  const words = {
    what: "exchange the workload token",
    hint:
      "check that the platform trusts the token's issuer and audience for this client id",
  };
  const json = await postForm(tokenUrl, form, { ...options, ...words });
  return readExchanged(json, tokenUrl, options.now(), words);
}

async function endpointAndClient(
  options: TokenExchangeOptions,
): Promise<{ tokenUrl: URL; clientId: string }> {
  const { config, store } = options;
  let endpoint = config.tokenUrl;
  let clientId = config.clientId;
  if ((endpoint === undefined || clientId === undefined) && store) {
    const clientConfig = await store.getClientConfig();
    endpoint ??= clientConfig.tokenEndpoint;
    clientId ??= clientConfig.clientId;
  }
  if (!endpoint || !clientId) {
    throw new ConfigError(
      `Cannot exchange the workload token: no ${
        endpoint ? "client id" : "token endpoint"
      } is known; set ${
        endpoint ? "clientId" : "tokenUrl"
      } in the platform config`,
    );
  }
  const tokenUrl = safeUrl(endpoint);
  if (tokenUrl === undefined) {
    throw new ConfigError(
      `Cannot exchange the workload token at "${endpoint}": it is not an https URL; fix tokenUrl in the platform config`,
    );
  }
  return { tokenUrl, clientId };
}

function readExchanged(
  json: Record<string, unknown>,
  tokenUrl: URL,
  now: number,
  words: { what: string; hint: string },
): Credentials {
  const accessToken = json.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw missingField(tokenUrl, "access_token", words);
  }
  const credentials: Credentials = { accessToken };
  const expiresIn = typeof json.expires_in === "string"
    ? Number(json.expires_in)
    : json.expires_in;
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn)) {
    credentials.expiresAt = now + expiresIn * 1000;
  }
  return credentials;
}
