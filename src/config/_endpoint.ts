/**
 * Turns an endpoint as flytectl and flytekit write it (`dns:///host:port`,
 * `host:port` or a URL) into a URL, and fetches JSON metadata from it.
 *
 * @module
 */

import type { FetchLike } from "../context.ts";
import { ConfigError, TokenRequestError } from "../errors.ts";
import { isLoopbackHost } from "../_loopback_host.ts";

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
// gRPC target syntax: `dns:///host:port`, or `dns://resolver/host:port`.
const DNS_PREFIX = /^dns:(\/\/[^/]*\/)?/i;

/** The default time a metadata request may take, in milliseconds. */
export const DEFAULT_METADATA_TIMEOUT_MS = 30_000;

/**
 * Parses an endpoint into a base URL whose path ends with `/`.
 *
 * @param endpoint `dns:///host:port`, `host:port` or an `http(s)` URL.
 * @param insecure Use `http` when the endpoint has no scheme, and allow
 * `http` for a host that is not loopback.
 * @param setting The setting the endpoint came from, for messages.
 * @returns The base URL, without query or fragment.
 */
export function endpointUrl(
  endpoint: string,
  insecure: boolean,
  setting: string,
): URL {
  const text = endpoint.trim().replace(DNS_PREFIX, "");
  const scheme = insecure ? "http" : "https";
  let url: URL | undefined;
  try {
    url = new URL(HAS_SCHEME.test(text) ? text : `${scheme}://${text}`);
  } catch {
    // Reported below with the same message as an empty host.
  }
  if (!url?.hostname || !/^https?:$/.test(url.protocol)) {
    throw new ConfigError(
      `Cannot use ${setting} "${endpoint}": it is not a host:port, dns:///host:port or http(s) URL; fix ${setting}`,
    );
  }
  if (url.protocol === "http:" && !insecure && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `Cannot use ${setting} "${endpoint}": plain http is refused for a host that is not loopback; use https, or set insecure`,
    );
  }
  url.search = url.hash = "";
  url.pathname = url.pathname.replace(/\/*$/, "/");
  return url;
}

/** What {@linkcode fetchJsonObject} needs besides the URL. */
export interface FetchJsonOptions {
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
export async function fetchJsonObject(
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
export function readString(
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
export function readScopes(
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
export function readUrl(
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
