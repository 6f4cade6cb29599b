/**
 * The requests plugins make: through the context's `fetch`, with a timeout,
 * and with failures as {@linkcode TokenRequestError}s that name the URL and
 * never the token. Internal to the plugins.
 *
 * @module
 */

import { type FetchLike, TokenRequestError } from "../mod.ts";

/** The default time a request may take, in milliseconds. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** How a request is made and described. */
export interface RequestOptions {
  /** The `fetch` to call: the context's. */
  fetch: FetchLike;
  /** Aborted when every caller has given up. */
  signal: AbortSignal;
  /** How long the request may take, in milliseconds. */
  timeoutMs: number;
  /** The action, for messages: "get a Google ID token". */
  what: string;
  /** What to do when it fails, for messages. */
  hint: string;
}

/** A response that came back with a 2xx status, read whole. */
export interface TextResponse {
  /** The response, whose body has been read. */
  response: Response;
  /** The body. */
  text: string;
}

/**
 * Makes a request that must answer 2xx, and reads the body.
 *
 * @param url The URL.
 * @param init The method, headers and body.
 * @param options The `fetch`, signal, timeout and words for messages.
 * @returns The response and its body.
 * @throws {TokenRequestError} When the request fails, times out or answers
 * an error status; `TIMEOUT` is the code of a timeout.
 */
export async function requestText(
  url: URL,
  init: RequestInit,
  options: RequestOptions,
): Promise<TextResponse> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout.signal]);
  try {
    const response = await options.fetch(url, { ...init, signal });
    const text = await response.text();
    if (!response.ok) throw statusError(url, response, text, options);
    return { response, text };
  } catch (error) {
    if (options.signal.aborted) throw options.signal.reason;
    if (timeout.signal.aborted) throw timeoutError(url, error, options);
    if (error instanceof TokenRequestError) throw error;
    throw failure(url, `the request failed (${reasonOf(error)})`, options, {
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes a request that must answer 2xx with a JSON object.
 *
 * @param url The URL.
 * @param init The method, headers and body.
 * @param options The `fetch`, signal, timeout and words for messages.
 * @returns The object.
 * @throws {TokenRequestError} As {@linkcode requestText} does, and when the
 * answer is not a JSON object.
 */
export async function requestJson(
  url: URL,
  init: RequestInit,
  options: RequestOptions,
): Promise<Record<string, unknown>> {
  const { response, text } = await requestText(url, init, options);
  const json = parseObject(text);
  if (json === undefined) {
    const type = response.headers.get("content-type") ?? "none";
    throw failure(
      url,
      `the answer is not a JSON object (content type "${type}")`,
      options,
      { status: response.status },
    );
  }
  return json;
}

/**
 * POSTs a form and reads the JSON object it answers, as OAuth token
 * endpoints do.
 *
 * @param url The token endpoint.
 * @param form The form fields.
 * @param options The `fetch`, signal, timeout and words for messages.
 * @returns The object.
 * @throws {TokenRequestError} As {@linkcode requestJson} does.
 */
export function postForm(
  url: URL,
  form: Record<string, string>,
  options: RequestOptions,
): Promise<Record<string, unknown>> {
  return requestJson(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    },
    body: new URLSearchParams(form),
  }, options);
}

/**
 * Builds the error for an answer that lacks a field it must have.
 *
 * @param url The URL that answered.
 * @param field The missing field.
 * @param options The words for messages.
 * @returns The error.
 */
export function missingField(
  url: URL,
  field: string,
  options: Pick<RequestOptions, "what" | "hint">,
): TokenRequestError {
  return failure(url, `the answer has no "${field}"`, options, {});
}

/**
 * Parses a URL setting, refusing plain http to a host that is not loopback
 * so that a credential is never sent in the clear.
 *
 * @param value The URL.
 * @returns The URL, or `undefined` when it does not parse or is refused.
 */
export function safeUrl(value: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol === "https:") return url;
  const loopback = url.hostname === "localhost" || url.hostname === "[::1]" ||
    /^127(\.\d{1,3}){3}$/.test(url.hostname);
  return url.protocol === "http:" && loopback ? url : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === "object" && json !== null && !Array.isArray(json)
      ? json as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

function statusError(
  url: URL,
  response: Response,
  text: string,
  options: RequestOptions,
): TokenRequestError {
  const json = parseObject(text);
  const error = typeof json?.error === "string" ? json.error : undefined;
  const description = typeof json?.error_description === "string"
    ? `: ${shorten(json.error_description)}`
    : "";
  const oauth = error ? ` "${error}"${description}` : "";
  return failure(
    url,
    `the server answered HTTP ${response.status}${oauth}`,
    options,
    { status: response.status, error },
  );
}

function timeoutError(
  url: URL,
  cause: unknown,
  options: RequestOptions,
): TokenRequestError {
  return new TokenRequestError(
    `Cannot ${options.what} at "${
      shown(url)
    }": no answer within ${options.timeoutMs} ms; ${options.hint}`,
    { cause },
    "TIMEOUT",
  );
}

function failure(
  url: URL,
  reason: string,
  options: Pick<RequestOptions, "what" | "hint">,
  details: { status?: number; error?: string; cause?: unknown },
): TokenRequestError {
  return new TokenRequestError(
    `Cannot ${options.what} at "${shown(url)}": ${reason}; ${options.hint}`,
    details,
  );
}

/** The URL for messages, without its query, which may carry values. */
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

const JWT_LIKE = /[\w-]{8,}\.[\w-]{8,}\.[\w-]*/g;

/** A server's error description, short, with anything token-like hidden. */
function shorten(text: string): string {
  const safe = text.replace(JWT_LIKE, "***").replace(/\s+/g, " ").trim();
  return safe.length > 200 ? `${safe.slice(0, 200)}...` : safe;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
