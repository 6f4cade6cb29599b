/**
 * The OAuth 2 token protocol, the one place sesame speaks it: requests to
 * token and device authorization endpoints, each split, as oauth4webapi
 * splits them, into making the request (`request*`) and checking the
 * response (`process*`), plus the two joined for each grant.
 *
 * Every request goes through the context's `fetch`, times out, is retried
 * twice on network errors, 429 and 5xx with jittered backoff (never on other
 * 4xx), and refuses plain `http:` unless the host is loopback or `insecure`
 * is set. Failures are {@linkcode TokenRequestError}s whose messages never
 * hold a token or a secret.
 *
 * The authenticators import this module, and with it oauth4webapi, only when
 * they need a token from the server: a program that finds its credentials
 * cached never loads either.
 *
 * @module
 */

import * as oauth from "oauth4webapi";
import { isLoopbackHost } from "../_loopback_host.ts";
import type { Credentials } from "../authenticator.ts";
import type { AuthContext } from "../context.ts";
import {
  AuthError,
  type AuthErrorCode,
  ConfigError,
  TokenRequestError,
} from "../errors.ts";

/** How the client proves who it is at the token endpoint. */
export type ClientAuthentication =
  | "client_secret_basic"
  | "client_secret_post"
  | "none";

/** Waits `ms` milliseconds, or rejects with the signal's reason. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The server, the client and how to reach them. */
export interface OAuthSettings {
  /** The token endpoint URL. */
  tokenEndpoint: string;
  /** The device authorization endpoint URL (RFC 8628), when used. */
  deviceAuthorizationEndpoint?: string;
  /**
   * The issuer. When set, ID tokens and the authorization response's `iss`
   * are checked against it; when not, an ID token is passed on unchecked.
   */
  issuer?: string;
  /** The client id. */
  clientId: string;
  /** The client secret, for a confidential client. */
  clientSecret?: string;
  /**
   * How the client authenticates.
   *
   * @default {"client_secret_basic" with a secret, else "none"}
   */
  clientAuthentication?: ClientAuthentication;
  /** Allow plain `http:` to hosts that are not loopback. */
  insecure?: boolean;
  /** The `fetch`, the clock and the event sink. */
  context: Pick<AuthContext, "fetch" | "now"> & Partial<AuthContext>;
  /**
   * How long one request may take, retries included, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /** Waits between retries and polls; injectable so tests need not wait. */
  sleep?: Sleep;
  /** Returns a number in [0, 1) for the backoff's jitter. */
  random?: () => number;
}

/** What a token request asks for besides the grant. */
export interface TokenParameters {
  /** The scopes, sent space-separated as `scope`. */
  scopes?: readonly string[];
  /** The audience, sent as `audience` (Auth0, Okta, Flyte). */
  audience?: string;
}

/** A device authorization response (RFC 8628 §3.2), checked. */
export interface DeviceAuthorization {
  /** The code the client polls with; a secret. */
  deviceCode: string;
  /** The code the person types. */
  userCode: string;
  /** The page where the person types it. */
  verificationUri: string;
  /** The page with the code in it, when the server gives one. */
  verificationUriComplete?: string;
  /** When the codes expire, in epoch milliseconds by the context's clock. */
  expiresAt: number;
  /** The codes' lifetime, in milliseconds. */
  expiresInMs: number;
  /** How long to wait between polls, in milliseconds. */
  intervalMs: number;
}

/** The redirect back from the authorization endpoint, and what was sent. */
export interface AuthorizationCallback {
  /** The callback URL the browser was sent to, or its query. */
  callback: URL | URLSearchParams;
  /** The `state` sent in the authorization request. */
  expectedState: string;
  /** The `redirect_uri` sent in the authorization request. */
  redirectUri: string;
  /** The PKCE code verifier whose challenge was sent. */
  codeVerifier: string;
}

/** The grants {@linkcode processTokenResponse} checks responses of. */
export type Grant =
  | "client_credentials"
  | "refresh_token"
  | "device_code"
  | "authorization_code";

type RequestOptions = oauth.TokenEndpointRequestOptions;
type MakeRequest = (
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  authentication: oauth.ClientAuth,
  options: RequestOptions,
) => Promise<Response>;

const DEFAULT_TIMEOUT_MS = 30_000;
const RETRIES = 2;
const BACKOFF_BASE_MS = 500;
const RETRY_AFTER_MAX_MS = 10_000;
const DEFAULT_INTERVAL_MS = 5_000;
const SLOW_DOWN_MS = 5_000;
const MIN_INTERVAL_MS = 1_000;

// ---------------------------------------------------------------------------
// Grants: request and process joined.

/**
 * Gets a token with the client credentials grant (RFC 6749 §4.4).
 *
 * @param settings The server and client.
 * @param parameters Scopes and audience.
 * @param signal Aborts the request.
 * @returns The credentials.
 */
export async function clientCredentialsGrant(
  settings: OAuthSettings,
  parameters: TokenParameters = {},
  signal?: AbortSignal,
): Promise<Credentials> {
  const response = await requestClientCredentials(
    settings,
    parameters,
    signal,
  );
  return await processTokenResponse(settings, response, "client_credentials");
}

/**
 * Gets a token with a refresh token (RFC 6749 §6). A response without a
 * new refresh token yields credentials without one; the caller keeps the
 * old one.
 *
 * @param settings The server and client.
 * @param refreshToken The refresh token.
 * @param parameters Scopes and audience, usually none.
 * @param signal Aborts the request.
 * @returns The credentials.
 */
export async function refreshTokenGrant(
  settings: OAuthSettings,
  refreshToken: string,
  parameters: TokenParameters = {},
  signal?: AbortSignal,
): Promise<Credentials> {
  const response = await requestRefreshToken(
    settings,
    refreshToken,
    parameters,
    signal,
  );
  return await processTokenResponse(settings, response, "refresh_token", [
    refreshToken,
  ]);
}

/** What one authorization code flow keeps secret until the token request. */
export interface PkceSecrets {
  /** The PKCE code verifier, sent with the code. */
  verifier: string;
  /** Its S256 challenge, sent with the authorization request. */
  challenge: string;
  /** The state, checked on the redirect. */
  state: string;
}

/**
 * Makes a fresh verifier, challenge and state for one flow.
 *
 * @returns The three values.
 */
export async function newPkceSecrets(): Promise<PkceSecrets> {
  const verifier = oauth.generateRandomCodeVerifier();
  return {
    verifier,
    challenge: await oauth.calculatePKCECodeChallenge(verifier),
    state: oauth.generateRandomState(),
  };
}

/**
 * Exchanges the authorization code of a callback for a token, after checking
 * the callback's `state` and `error` (RFC 6749 §4.1, RFC 7636).
 *
 * @param settings The server and client.
 * @param callback The callback and what the authorization request sent.
 * @param signal Aborts the request.
 * @returns The credentials.
 */
export async function authorizationCodeGrant(
  settings: OAuthSettings,
  callback: AuthorizationCallback,
  signal?: AbortSignal,
): Promise<Credentials> {
  const response = await requestAuthorizationCode(settings, callback, signal);
  return await processTokenResponse(settings, response, "authorization_code", [
    callback.codeVerifier,
  ]);
}

/**
 * Starts a device log-in (RFC 8628 §3.1).
 *
 * @param settings The server and client; `deviceAuthorizationEndpoint` set.
 * @param parameters Scopes and audience.
 * @param signal Aborts the request.
 * @returns The codes, the pages and the timing.
 */
export async function deviceAuthorizationGrant(
  settings: OAuthSettings,
  parameters: TokenParameters = {},
  signal?: AbortSignal,
): Promise<DeviceAuthorization> {
  const response = await requestDeviceAuthorization(
    settings,
    parameters,
    signal,
  );
  return await processDeviceAuthorizationResponse(settings, response);
}

/**
 * Polls the token endpoint until the person approves a device log-in
 * (RFC 8628 §3.4, §3.5): every `interval` (5 s when the server gave none),
 * 5 s slower on each `slow_down`, until the codes expire by the clock.
 *
 * @param settings The server and client; `sleep` waits between polls.
 * @param authorization What {@linkcode deviceAuthorizationGrant} returned.
 * @param signal Stops polling.
 * @returns The credentials.
 * @throws {TokenRequestError} `ACCESS_DENIED` when the person declined,
 * `EXPIRED_TOKEN` when the codes expired first.
 */
export async function pollDeviceAuthorization(
  settings: OAuthSettings,
  authorization: DeviceAuthorization,
  signal?: AbortSignal,
): Promise<Credentials> {
  const sleep = settings.sleep ?? defaultSleep;
  const { now } = settings.context;
  let intervalMs = authorization.intervalMs;
  // The wait sum bounds the loop even when the clock does not move.
  for (let waited = 0; waited < authorization.expiresInMs;) {
    await sleep(intervalMs, signal);
    waited += intervalMs;
    if (now() >= authorization.expiresAt) break;
    try {
      const response = await requestDeviceCode(
        settings,
        authorization.deviceCode,
        signal,
      );
      return await processTokenResponse(settings, response, "device_code", [
        authorization.deviceCode,
      ]);
    } catch (error) {
      const code = error instanceof TokenRequestError ? error.error : undefined;
      if (code === "authorization_pending") continue;
      if (code === "slow_down") {
        intervalMs += SLOW_DOWN_MS;
        continue;
      }
      throw deviceFailure(error, authorization);
    }
  }
  throw deviceExpired(authorization);
}

// ---------------------------------------------------------------------------
// Making the requests.

/**
 * Sends a client credentials token request.
 *
 * @param settings The server and client.
 * @param parameters Scopes and audience.
 * @param signal Aborts the request.
 * @returns The response, its body read.
 */
export function requestClientCredentials(
  settings: OAuthSettings,
  parameters: TokenParameters,
  signal?: AbortSignal,
): Promise<Response> {
  return send(
    settings,
    "token",
    signal,
    (as, client, auth, options) =>
      oauth.clientCredentialsGrantRequest(
        as,
        client,
        auth,
        tokenParameters(parameters),
        options,
      ),
  );
}

/**
 * Sends a refresh token request.
 *
 * @param settings The server and client.
 * @param refreshToken The refresh token.
 * @param parameters Scopes and audience, usually none.
 * @param signal Aborts the request.
 * @returns The response, its body read.
 */
export function requestRefreshToken(
  settings: OAuthSettings,
  refreshToken: string,
  parameters: TokenParameters,
  signal?: AbortSignal,
): Promise<Response> {
  return send(
    settings,
    "token",
    signal,
    (as, client, auth, options) =>
      oauth.refreshTokenGrantRequest(as, client, auth, refreshToken, {
        ...options,
        additionalParameters: tokenParameters(parameters),
      }),
  );
}

/**
 * Checks an authorization callback and sends its code to the token endpoint.
 *
 * @param settings The server and client.
 * @param callback The callback and what the authorization request sent.
 * @param signal Aborts the request.
 * @returns The response, its body read.
 * @throws {TokenRequestError} `ACCESS_DENIED` for `error=access_denied`.
 * @throws {AuthError} When the state does not match or there is no code.
 */
export async function requestAuthorizationCode(
  settings: OAuthSettings,
  callback: AuthorizationCallback,
  signal?: AbortSignal,
): Promise<Response> {
  const parameters = checkCallback(settings, callback);
  return await send(
    settings,
    "token",
    signal,
    (as, client, auth, options) =>
      oauth.authorizationCodeGrantRequest(
        as,
        client,
        auth,
        parameters,
        callback.redirectUri,
        callback.codeVerifier,
        options,
      ),
  );
}

/**
 * Sends a device authorization request.
 *
 * @param settings The server and client.
 * @param parameters Scopes and audience.
 * @param signal Aborts the request.
 * @returns The response, its body read.
 */
export function requestDeviceAuthorization(
  settings: OAuthSettings,
  parameters: TokenParameters,
  signal?: AbortSignal,
): Promise<Response> {
  return send(
    settings,
    "device",
    signal,
    (as, client, auth, options) =>
      oauth.deviceAuthorizationRequest(
        as,
        client,
        auth,
        tokenParameters(parameters),
        options,
      ),
  );
}

/**
 * Sends one device code token request (one poll).
 *
 * @param settings The server and client.
 * @param deviceCode The device code.
 * @param signal Aborts the request.
 * @returns The response, its body read.
 */
export function requestDeviceCode(
  settings: OAuthSettings,
  deviceCode: string,
  signal?: AbortSignal,
): Promise<Response> {
  return send(
    settings,
    "token",
    signal,
    (as, client, auth, options) =>
      oauth.deviceCodeGrantRequest(as, client, auth, deviceCode, options),
  );
}

function tokenParameters(parameters: TokenParameters): URLSearchParams {
  const body = new URLSearchParams();
  if (parameters.scopes?.length) body.set("scope", parameters.scopes.join(" "));
  if (parameters.audience) body.set("audience", parameters.audience);
  return body;
}

/** A failure of the `fetch` itself, as opposed to one of oauth4webapi's. */
class NetworkFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * Sends a request with retries under one deadline, and returns the response
 * with its body read, so the deadline covers the body too.
 */
async function send(
  settings: OAuthSettings,
  endpoint: "token" | "device",
  signal: AbortSignal | undefined,
  makeRequest: MakeRequest,
): Promise<Response> {
  const target = describeEndpoint(settings, endpoint);
  const timeoutMs = settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  const combined = signal
    ? AbortSignal.any([signal, deadline.signal])
    : deadline.signal;
  try {
    return await sendWithRetries(settings, target, combined, makeRequest);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (deadline.signal.aborted) {
      throw new TokenRequestError(
        `${target.label} to "${target.shown}" timed out after ${timeoutMs} ms; check that the server is reachable, or allow more time (timeoutMs)`,
        {},
        "TIMEOUT",
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

interface Target {
  url: URL;
  shown: string;
  label: string;
}

async function sendWithRetries(
  settings: OAuthSettings,
  target: Target,
  signal: AbortSignal,
  makeRequest: MakeRequest,
): Promise<Response> {
  const sleep = settings.sleep ?? defaultSleep;
  const options: RequestOptions = {
    signal,
    [oauth.customFetch]: networkFetch(settings.context.fetch),
    [oauth.allowInsecureRequests]: target.url.protocol === "http:",
  };
  const as = authorizationServer(settings);
  const client: oauth.Client = { client_id: settings.clientId };
  const authentication = clientAuthentication(settings);
  for (let attempt = 1;; attempt++) {
    const outcome = await attemptOnce(
      () => makeRequest(as, client, authentication, options),
      signal,
    );
    const reason = retryReason(outcome);
    if (reason === undefined) return outcome as Response;
    if (attempt > RETRIES) throw gaveUp(outcome, target, attempt);
    const delayMs = backoff(settings, attempt, outcome);
    emit(settings, {
      type: "retry",
      url: target.shown,
      attempt,
      delayMs,
      reason,
    });
    await sleep(delayMs, signal);
  }
}

async function attemptOnce(
  request: () => Promise<Response>,
  signal: AbortSignal,
): Promise<Response | NetworkFailure> {
  let response: Response;
  try {
    response = await request();
  } catch (error) {
    if (error instanceof NetworkFailure) return error;
    throw error;
  }
  try {
    return await buffered(response);
  } catch (cause) {
    if (signal.aborted) throw cause;
    return new NetworkFailure(cause);
  }
}

function networkFetch(fetcher: AuthContext["fetch"]) {
  return async function fetchOrFail(url: string, init: RequestInit) {
    try {
      return await fetcher(url, init);
    } catch (cause) {
      if (init.signal?.aborted) throw cause;
      throw new NetworkFailure(cause);
    }
  };
}

async function buffered(response: Response): Promise<Response> {
  const body = await response.arrayBuffer();
  const empty = [101, 204, 205, 304].includes(response.status);
  return new Response(empty ? null : body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function retryReason(outcome: Response | NetworkFailure): string | undefined {
  if (outcome instanceof NetworkFailure) {
    const message = outcome.cause instanceof Error
      ? outcome.cause.message
      : String(outcome.cause);
    return `network error: ${message}`;
  }
  const { status } = outcome;
  return status === 429 || status >= 500 ? `status ${status}` : undefined;
}

function backoff(
  settings: OAuthSettings,
  attempt: number,
  outcome: Response | NetworkFailure,
): number {
  const random = settings.random ?? Math.random;
  const jittered = BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + random() / 2);
  const retryAfter = outcome instanceof Response
    ? Number(outcome.headers.get("retry-after") ?? NaN) * 1000
    : NaN;
  const wanted = Number.isFinite(retryAfter) && retryAfter > jittered
    ? Math.min(retryAfter, RETRY_AFTER_MAX_MS)
    : jittered;
  return Math.round(wanted);
}

function gaveUp(
  outcome: Response | NetworkFailure,
  target: Target,
  attempts: number,
): TokenRequestError {
  const where = `${target.label} to "${target.shown}"`;
  if (outcome instanceof NetworkFailure) {
    const reason = outcome.cause instanceof Error
      ? outcome.cause.message
      : String(outcome.cause);
    return new TokenRequestError(
      `${where} failed ${attempts} times: ${reason}; check the network, the proxy (httpProxyUrl) and the CA file (caCertFilePath)`,
      { cause: outcome.cause },
    );
  }
  return new TokenRequestError(
    `${where} failed ${attempts} times with status ${outcome.status}; the server is busy or failing: try again later`,
    { status: outcome.status },
  );
}

/** Resolves after `ms`, or rejects with the signal's reason. */
export const defaultSleep: Sleep = function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
};

// ---------------------------------------------------------------------------
// Checking the responses.

/**
 * Checks a token endpoint response and turns it into credentials:
 * `expiresAt` from `expires_in` by the context's clock, when given.
 *
 * @param settings The server and client.
 * @param response The response of a `request*` function.
 * @param grant The grant that was asked for.
 * @param secrets Values sent with the request, kept out of messages.
 * @returns The credentials.
 * @throws {TokenRequestError} With the status and the OAuth `error`.
 */
export async function processTokenResponse(
  settings: OAuthSettings,
  response: Response,
  grant: Grant,
  secrets: readonly string[] = [],
): Promise<Credentials> {
  const target = describeEndpoint(settings, "token");
  const json = await readJson(response, target);
  if (response.status !== 200) {
    throw oauthFailure(response.status, json, target, settings, secrets);
  }
  if (typeof json.access_token !== "string" || json.access_token === "") {
    throw new TokenRequestError(
      `${target.label} to "${target.shown}" got a response without an access_token; check that "${target.shown}" is the token endpoint`,
      { status: response.status },
    );
  }
  const idToken = settings.issuer === undefined ? json.id_token : undefined;
  if (idToken !== undefined) delete json.id_token;
  json.token_type ??= "Bearer";
  const result = await check(target, () =>
    processors()[grant](
      authorizationServer(settings),
      { client_id: settings.clientId },
      jsonResponse(json),
    ));
  return toCredentials(result, idToken, settings.context.now());
}

/**
 * Checks a device authorization response.
 *
 * @param settings The server and client.
 * @param response The response of {@linkcode requestDeviceAuthorization}.
 * @returns The codes, the pages and the timing by the context's clock.
 * @throws {TokenRequestError} With the status and the OAuth `error`.
 */
export async function processDeviceAuthorizationResponse(
  settings: OAuthSettings,
  response: Response,
): Promise<DeviceAuthorization> {
  const target = describeEndpoint(settings, "device");
  const json = await readJson(response, target);
  if (response.status !== 200) {
    throw oauthFailure(response.status, json, target, settings, []);
  }
  // Some servers (Google's) say verification_url.
  json.verification_uri ??= json.verification_url;
  const result = await check(
    target,
    () =>
      oauth.processDeviceAuthorizationResponse(
        authorizationServer(settings),
        { client_id: settings.clientId },
        jsonResponse(json),
      ),
  );
  const expiresInMs = result.expires_in * 1000;
  const authorization: DeviceAuthorization = {
    deviceCode: result.device_code,
    userCode: result.user_code,
    verificationUri: result.verification_uri,
    expiresAt: settings.context.now() + expiresInMs,
    expiresInMs,
    intervalMs: result.interval === undefined
      ? DEFAULT_INTERVAL_MS
      : Math.max(result.interval * 1000, MIN_INTERVAL_MS),
  };
  if (result.verification_uri_complete) {
    authorization.verificationUriComplete = result.verification_uri_complete;
  }
  return authorization;
}

function processors(): Record<
  Grant,
  (
    as: oauth.AuthorizationServer,
    client: oauth.Client,
    response: Response,
  ) => Promise<oauth.TokenEndpointResponse>
> {
  return {
    client_credentials: oauth.processClientCredentialsResponse,
    refresh_token: oauth.processRefreshTokenResponse,
    device_code: oauth.processDeviceCodeResponse,
    authorization_code: oauth.processAuthorizationCodeResponse,
  };
}

type Json = Record<string, unknown>;

async function readJson(response: Response, target: Target): Promise<Json> {
  const text = await response.text();
  try {
    const json = JSON.parse(text);
    if (typeof json === "object" && json !== null && !Array.isArray(json)) {
      return json;
    }
  } catch {
    // Described below.
  }
  const type = response.headers.get("content-type")?.split(";")[0]?.trim();
  const what = type === "text/html" || /^\s*</.test(text)
    ? "an HTML page"
    : type
    ? `"${type}"`
    : "a body that is not JSON";
  throw new TokenRequestError(
    `${target.label} to "${target.shown}" got ${what} with status ${response.status} instead of JSON; check that "${target.shown}" is the right endpoint (tokenUrl, or the platform's client config)`,
    { status: response.status },
  );
}

function jsonResponse(json: Json): Response {
  return new Response(JSON.stringify(json), {
    status: 200,
    headers: { "content-type": "application/json" },
  });
}

/** Runs an oauth4webapi check; its errors hold the body, so none is kept. */
async function check<T>(target: Target, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TokenRequestError(
      `${target.label} to "${target.shown}" got a response that does not conform: ${reason}; check that "${target.shown}" is the right endpoint`,
      { status: 200 },
    );
  }
}

function toCredentials(
  result: oauth.TokenEndpointResponse,
  idToken: unknown,
  now: number,
): Credentials {
  const credentials: Credentials = { accessToken: result.access_token };
  if (result.refresh_token) credentials.refreshToken = result.refresh_token;
  const id = idToken ?? result.id_token;
  if (typeof id === "string" && id) credentials.idToken = id;
  if (typeof result.expires_in === "number") {
    credentials.expiresAt = now + result.expires_in * 1000;
  }
  return credentials;
}

const HINTS: Record<string, string> = {
  invalid_client:
    "check the client id and secret (clientId, clientCredentialsSecret)",
  invalid_grant:
    "the refresh token, code or device code is no longer valid: log in again",
  invalid_scope: "check the scopes (scopes) the client may ask for",
  invalid_target: "check the audience (audience)",
  unauthorized_client: "check that the server lets this client use this grant",
  unsupported_grant_type:
    "the server does not offer this grant: choose another auth mode",
  access_denied: "the log-in was declined: log in again and approve it",
  expired_token: "the log-in took too long: log in again and finish sooner",
};

function oauthFailure(
  status: number,
  json: Json,
  target: Target,
  settings: OAuthSettings,
  secrets: readonly string[],
): TokenRequestError {
  const where = `${target.label} to "${target.shown}"`;
  const error = typeof json.error === "string" && json.error
    ? json.error
    : undefined;
  if (error === undefined) {
    return new TokenRequestError(
      `${where} failed with status ${status}; check the endpoint and the server's logs`,
      { status },
    );
  }
  const hidden = [settings.clientSecret ?? "", ...secrets];
  const description = typeof json.error_description === "string"
    ? `: ${redact(json.error_description, hidden)}`
    : "";
  const hint = HINTS[error] ?? "check the client config and the server's logs";
  return new TokenRequestError(
    `${where} failed with "${
      redact(error, hidden)
    }" (status ${status})${description}; ${hint}`,
    { status, error },
    codeFor(error),
  );
}

function codeFor(error: string): AuthErrorCode {
  if (error === "access_denied") return "ACCESS_DENIED";
  if (error === "expired_token") return "EXPIRED_TOKEN";
  return "TOKEN_REQUEST_FAILED";
}

/** Shortens a server's text and hides any secret it echoes. */
function redact(text: string, secrets: readonly string[]): string {
  let shown = text.replace(/\p{Cc}+/gu, " ").slice(0, 300);
  for (const secret of secrets) {
    if (secret.length >= 4) shown = shown.replaceAll(secret, "***");
  }
  return shown;
}

function deviceFailure(
  error: unknown,
  authorization: DeviceAuthorization,
): unknown {
  if (!(error instanceof TokenRequestError)) return error;
  const details = { status: error.status, error: error.error, cause: error };
  if (error.code === "ACCESS_DENIED") {
    return new TokenRequestError(
      `Device log-in was declined at "${authorization.verificationUri}"; run the log-in again and approve it`,
      details,
      "ACCESS_DENIED",
    );
  }
  if (error.code === "EXPIRED_TOKEN") return deviceExpired(authorization);
  return error;
}

function deviceExpired(authorization: DeviceAuthorization): TokenRequestError {
  const minutes = Math.max(1, Math.round(authorization.expiresInMs / 60_000));
  return new TokenRequestError(
    `Device log-in expired before it was approved; run the log-in again and approve it within ${minutes} min at "${authorization.verificationUri}"`,
    { error: "expired_token" },
    "EXPIRED_TOKEN",
  );
}

// ---------------------------------------------------------------------------
// The authorization callback.

function checkCallback(
  settings: OAuthSettings,
  callback: AuthorizationCallback,
): URLSearchParams {
  const parameters = new URLSearchParams(
    callback.callback instanceof URL
      ? callback.callback.searchParams
      : callback.callback,
  );
  // Without a known issuer there is nothing to compare `iss` with.
  if (settings.issuer === undefined) parameters.delete("iss");
  try {
    const checked = oauth.validateAuthResponse(
      authorizationServer(settings),
      { client_id: settings.clientId },
      parameters,
      callback.expectedState,
    );
    if (!checked.get("code")) {
      throw new AuthError(
        "Cannot finish the log-in: the callback has no code; start the log-in again",
      );
    }
    return checked;
  } catch (error) {
    throw callbackFailure(error);
  }
}

function callbackFailure(error: unknown): unknown {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.AuthorizationResponseError) {
    const description = error.error_description
      ? `: ${redact(error.error_description, [])}`
      : "";
    const denied = error.error === "access_denied";
    return new TokenRequestError(
      `Log-in ${
        denied ? "was declined" : "failed"
      }: the authorization server answered "${
        redact(error.error, [])
      }"${description}; ${
        denied
          ? "log in again and approve it"
          : "check the client config and the server's logs"
      }`,
      { error: error.error },
      codeFor(error.error),
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new AuthError(
    `Cannot finish the log-in: the callback does not check out (${reason}); start the log-in again`,
  );
}

// ---------------------------------------------------------------------------
// Endpoints and clients.

function describeEndpoint(
  settings: OAuthSettings,
  endpoint: "token" | "device",
): Target {
  const label = endpoint === "token"
    ? "Token request"
    : "Device authorization request";
  const value = endpoint === "token"
    ? settings.tokenEndpoint
    : settings.deviceAuthorizationEndpoint;
  const setting = endpoint === "token"
    ? "the token endpoint"
    : "the device authorization endpoint";
  if (!value) {
    throw new ConfigError(
      `Cannot send a ${label.toLowerCase()}: ${setting} is not known; set it in the platform's client config`,
    );
  }
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || !/^https?:$/.test(url.protocol)) {
    throw new ConfigError(
      `Cannot use "${value}" as ${setting}: it is not an http(s) URL; fix tokenUrl or the platform's client config`,
    );
  }
  const shown = `${url.origin}${url.pathname}`;
  if (
    url.protocol === "http:" && !settings.insecure &&
    !isLoopbackHost(url.hostname)
  ) {
    throw new ConfigError(
      `Refusing to send a ${label.toLowerCase()} over plain HTTP to "${shown}"; use an https URL, or set insecure: true if the network is trusted`,
    );
  }
  return { url, shown, label };
}

function authorizationServer(
  settings: OAuthSettings,
): oauth.AuthorizationServer {
  const as: {
    issuer: string;
    token_endpoint: string;
    device_authorization_endpoint?: string;
  } = {
    // oauth4webapi needs an issuer; with none known, ID tokens are set aside.
    issuer: settings.issuer ?? new URL(settings.tokenEndpoint).origin,
    token_endpoint: settings.tokenEndpoint,
  };
  if (settings.deviceAuthorizationEndpoint) {
    as.device_authorization_endpoint = settings.deviceAuthorizationEndpoint;
  }
  return as;
}

function clientAuthentication(settings: OAuthSettings): oauth.ClientAuth {
  const method = settings.clientAuthentication ??
    (settings.clientSecret ? "client_secret_basic" : "none");
  if (method === "none") return oauth.None();
  if (!settings.clientSecret) {
    throw new ConfigError(
      `Cannot authenticate client "${settings.clientId}" with ${method}: no client secret is set; set clientCredentialsSecret`,
    );
  }
  return method === "client_secret_post"
    ? oauth.ClientSecretPost(settings.clientSecret)
    : oauth.ClientSecretBasic(settings.clientSecret);
}

function emit(
  settings: OAuthSettings,
  event: Parameters<AuthContext["onEvent"]>[0],
): void {
  try {
    settings.context.onEvent?.(event);
  } catch {
    // An event sink must not break a request.
  }
}
