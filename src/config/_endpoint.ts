/**
 * Turns an endpoint as flytectl and flytekit write it (`dns:///host:port`,
 * `host:port` or a URL) into a URL. Kept small because the client config
 * stores call it in their constructors; reading metadata from the URL is in
 * `_client_metadata.ts`, loaded only when it is needed.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
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
