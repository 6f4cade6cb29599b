/**
 * A `fetch` that sends credentials to the platform, and to nobody else.
 *
 * @module
 */

import type { Authenticator, Credentials } from "../authenticator.ts";
import type { AuthEvent, FetchLike } from "../context.ts";
import { checkAuthenticator, emitRetry } from "./_shared.ts";

/** Options of {@linkcode createAuthFetch}. */
export interface AuthFetchOptions {
  /**
   * The platform's origin, or a list of origins: only requests to these get
   * credentials. Each is a URL; only its scheme, host and port count.
   */
  origin: string | URL | readonly (string | URL)[];
  /**
   * The `fetch` to send requests with.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /** Adds its token in `proxy-authorization`, for a proxy in front of the platform. */
  proxyAuthenticator?: Authenticator;
  /**
   * Receives a `retry` event when a request is replayed; must not throw.
   *
   * @param event What happened.
   */
  onEvent?(event: AuthEvent): void;
}

type Input = Request | URL | string;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const BODY_HEADERS = [
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
  "content-length",
];

/**
 * Wraps `fetch` so that requests to the platform carry
 * `<headerKey>: Bearer <token>`, and the proxy token in
 * `proxy-authorization` when there is a proxy authenticator.
 *
 * - Only requests to `options.origin` get credentials; any other request is
 *   passed through untouched. Redirects are followed here, not by `fetch`,
 *   so that a redirect to another origin carries neither header (nor the
 *   caller's `authorization`).
 * - On a 401 the authenticator's `refreshCredentials({ rejected })` is
 *   called once and the request replayed once. Concurrent 401s share one
 *   refresh when the authenticator is a {@linkcode CachingAuthenticator}.
 *
 * > [!NOTE]
 * > A request is replayed only when its body can be read twice: no body, or
 * > a string, `Blob`, `ArrayBuffer`, typed array, `URLSearchParams` or
 * > `FormData` in `init.body`. A `ReadableStream` body, or a body inside a
 * > `Request` object, is sent once: its 401 is returned as it is, and a 307
 * > or 308 redirect of it fails with a `TypeError`, as in `fetch`.
 *
 * Requires `--allow-net` for the requests, and whatever the authenticators
 * need.
 *
 * @param authenticator Gives the platform's credentials.
 * @param options The platform's origin (required), the `fetch` to wrap and
 * a proxy authenticator.
 * @returns The authenticated `fetch`.
 * @throws {TypeError} When the authenticator is not one, or `origin` is
 * missing or not a URL.
 *
 * @example Calling a platform API
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthFetch, type Authenticator } from "@sesame/auth";
 *
 * const authenticator: Authenticator = {
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "a-token" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "a-token" }),
 * };
 * const authFetch = createAuthFetch(authenticator, {
 *   origin: "https://flyte.example.com",
 *   fetch: (input, init) => {
 *     const auth = new Headers(init?.headers).get("authorization");
 *     return Promise.resolve(new Response(auth));
 *   },
 * });
 * const response = await authFetch("https://flyte.example.com/api/v1/projects");
 * assert.ok(await response.text() === "Bearer a-token");
 * ```
 */
export function createAuthFetch(
  authenticator: Authenticator,
  options: AuthFetchOptions,
): FetchLike {
  checkAuthenticator(authenticator, "createAuthFetch() authenticator");
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      "createAuthFetch() needs options.origin: the platform origin that may receive credentials",
    );
  }
  const { proxyAuthenticator, onEvent } = options;
  if (proxyAuthenticator !== undefined) {
    checkAuthenticator(
      proxyAuthenticator,
      "createAuthFetch() options.proxyAuthenticator",
    );
  }
  const platform = platformOf(authenticator, options);

  return async function authFetch(input, init) {
    const url = urlOf(input);
    if (url === undefined || !platform.origins.has(url.origin)) {
      return platform.send(input, init);
    }
    const signal = (init?.signal ??
      (input instanceof Request ? input.signal : undefined)) ?? undefined;
    const [credentials, proxy] = proxyAuthenticator
      ? await Promise.all([
        authenticator.getCredentials({ signal }),
        proxyAuthenticator.getCredentials({ signal }),
      ])
      : [await authenticator.getCredentials({ signal })];

    const request: Sent = { input, init, url };
    const response = await sendAuthorized(
      platform,
      request,
      credentials,
      proxy,
    );
    if (response.status !== 401 || !mayReplay(platform, request, response)) {
      return response;
    }
    await response.body?.cancel();
    emitRetry(onEvent, `${url.origin}${url.pathname}`, "HTTP 401");
    const fresh = await authenticator.refreshCredentials({
      rejected: credentials,
      signal,
    });
    return sendAuthorized(platform, request, fresh, proxy);
  };
}

/** What every request of one authenticated fetch shares. */
interface Platform {
  authenticator: Authenticator;
  proxyAuthenticator?: Authenticator;
  origins: Set<string>;
  send: FetchLike;
}

/**
 * The headers that must not leave the platform. Read at each use: an
 * authenticator learns its header key from the server on the first fetch.
 */
function credentialHeaders(platform: Platform): string[] {
  const keys = [platform.authenticator.headerKey, "authorization"];
  if (platform.proxyAuthenticator) {
    keys.push(platform.proxyAuthenticator.headerKey, "proxy-authorization");
  }
  return keys;
}

function platformOf(
  authenticator: Authenticator,
  options: AuthFetchOptions,
): Platform {
  return {
    authenticator,
    proxyAuthenticator: options.proxyAuthenticator,
    origins: parseOrigins(options.origin),
    send: pickFetch(options.fetch),
  };
}

/**
 * Sends the request with the credentials. Not `async`: on the common path it
 * returns `fetch`'s own promise, since every extra await between `fetch` and
 * the caller showed up as added latency on a loopback round trip.
 */
function sendAuthorized(
  platform: Platform,
  request: Sent,
  credentials: Credentials,
  proxy: Credentials | undefined,
): Promise<Response> {
  const { input, init } = request;
  const credentialPairs: [string, string][] = [[
    platform.authenticator.headerKey,
    `Bearer ${credentials.accessToken}`,
  ]];
  if (proxy) {
    credentialPairs.push([
      platform.proxyAuthenticator!.headerKey,
      `Bearer ${proxy.accessToken}`,
    ]);
  }
  const headers = withCredentials(
    init?.headers ?? (input instanceof Request ? input.headers : undefined),
    credentialPairs,
  );
  const mode = init?.redirect ??
    (input instanceof Request ? input.redirect : "follow");
  if (mode !== "follow" || credentialPairs.every(droppedOnRedirect)) {
    return platform.send(input, { ...init, headers });
  }
  return sendFollowingRedirects(platform, { ...request, headers });
}

async function sendFollowingRedirects(
  platform: Platform,
  hop: Hop,
): Promise<Response> {
  const response = await platform.send(hop.input, {
    ...hop.init,
    headers: hop.headers,
    redirect: "manual",
  });
  if (!REDIRECTS.has(response.status)) return response;
  return await followRedirects(platform, response, hop);
}

/**
 * Follows redirects with the credentials while they stay on the platform,
 * and hands the rest of the chain to `fetch` without them.
 */
async function followRedirects(
  platform: Platform,
  response: Response,
  hop: Hop,
): Promise<Response> {
  for (let count = 1;; count++) {
    const location = response.headers.get("location");
    if (!REDIRECTS.has(response.status) || location === null) return response;
    await response.body?.cancel();
    if (count > MAX_REDIRECTS) {
      throw new TypeError(
        `Cannot fetch "${hop.url.origin}${hop.url.pathname}": more than ${MAX_REDIRECTS} redirects`,
      );
    }
    const next = nextHop(hop, response.status, location);
    if (!platform.origins.has(next.url.origin)) {
      for (const key of credentialHeaders(platform)) next.headers.delete(key);
      return platform.send(next.url, { ...next.init, redirect: "follow" });
    }
    response = await platform.send(next.url, {
      ...next.init,
      redirect: "manual",
    });
    hop = next;
  }
}

/**
 * A 401 is replayed when the platform sent it (not a third party reached
 * by a redirect) and the body can be sent again.
 */
function mayReplay(
  platform: Platform,
  request: Sent,
  response: Response,
): boolean {
  if (response.status !== 401) return false;
  let fromPlatform = true;
  try {
    fromPlatform = !response.url ||
      platform.origins.has(new URL(response.url).origin);
  } catch {
    // A response without a parsable URL came from the request we sent.
  }
  return fromPlatform && canReplay(request.input, request.init);
}

/** A request as the caller made it. */
interface Sent {
  input: Input;
  init: RequestInit | undefined;
  url: URL;
}

/**
 * `fetch` itself drops these on a redirect to another origin (Fetch
 * standard, HTTP-redirect fetch, step 13), so it may follow redirects alone,
 * which is cheaper than following them here.
 */
function droppedOnRedirect([name]: [string, string]): boolean {
  const lower = name.toLowerCase();
  return lower === "authorization" || lower === "proxy-authorization";
}

/** One request of a redirect chain, with the headers sent. */
interface Hop extends Sent {
  headers: HeadersInit;
}

/**
 * The caller's headers with the credentials set. Absent headers or a plain
 * record without those names are copied into a record rather than a
 * `Headers` object: this runs on every request, and `Headers` costs a few
 * microseconds of a loopback round trip.
 */
function withCredentials(
  given: HeadersInit | undefined,
  pairs: [string, string][],
): HeadersInit {
  if (given === undefined) return Object.fromEntries(pairs);
  if (isPlainRecord(given) && !pairs.some(([name]) => hasName(given, name))) {
    return { ...given, ...Object.fromEntries(pairs) };
  }
  const headers = new Headers(given);
  for (const [name, value] of pairs) headers.set(name, value);
  return headers;
}

function isPlainRecord(value: HeadersInit): value is Record<string, string> {
  return Object.getPrototypeOf(value) === Object.prototype;
}

function hasName(record: Record<string, string>, name: string): boolean {
  const lower = name.toLowerCase();
  return Object.keys(record).some((key) => key.toLowerCase() === lower);
}

/** The request a redirect asks for (Fetch standard, HTTP-redirect fetch). */
function nextHop(hop: Hop, status: number, location: string): Hop & {
  init: RequestInit;
  headers: Headers;
} {
  const url = new URL(location, hop.url);
  const request = hop.input instanceof Request ? hop.input : undefined;
  let method = hop.init?.method ?? request?.method ?? "GET";
  let body = hop.init?.body;
  const headers = new Headers(hop.headers);
  const upper = method.toUpperCase();
  if (
    (status === 303 && upper !== "GET" && upper !== "HEAD") ||
    ((status === 301 || status === 302) && upper === "POST")
  ) {
    method = "GET";
    body = null;
    for (const name of BODY_HEADERS) headers.delete(name);
  } else if (!canReplay(hop.input, hop.init)) {
    throw new TypeError(
      `Cannot follow the redirect from "${hop.url.origin}${hop.url.pathname}": the request body is a stream and cannot be sent again`,
    );
  }
  const signal = hop.init?.signal ?? request?.signal;
  const init: RequestInit = { ...hop.init, method, body, headers, signal };
  return { input: url, init, url, headers };
}

function canReplay(input: Input, init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (body === undefined) {
    return !(input instanceof Request && input.body !== null);
  }
  return body === null || typeof body === "string" ||
    body instanceof Blob || body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) || body instanceof URLSearchParams ||
    body instanceof FormData;
}

function urlOf(input: Input): URL | undefined {
  if (input instanceof URL) return input;
  try {
    return new URL(input instanceof Request ? input.url : input);
  } catch {
    // A relative URL cannot be the platform's: send it as it is.
    return undefined;
  }
}

function parseOrigins(origin: AuthFetchOptions["origin"]): Set<string> {
  const list = Array.isArray(origin) ? origin : [origin];
  if (list.length === 0 || origin === undefined) {
    throw new TypeError(
      'createAuthFetch() needs options.origin: the platform origin that may receive credentials, such as "https://flyte.example.com"',
    );
  }
  return new Set(list.map((item: unknown) => {
    let url: URL | undefined;
    try {
      url = new URL(item as string | URL);
    } catch {
      // Reported below.
    }
    if (url === undefined || url.origin === "null") {
      throw new TypeError(
        `createAuthFetch() options.origin "${item}" is not an http(s) URL; write it as "https://host:port"`,
      );
    }
    return url.origin;
  }));
}

function pickFetch(inner: FetchLike | undefined): FetchLike {
  if (inner === undefined) return (input, init) => fetch(input, init);
  if (typeof inner !== "function") {
    throw new TypeError("createAuthFetch() options.fetch must be a function");
  }
  return inner;
}
