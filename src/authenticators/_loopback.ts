/**
 * The loopback redirect listener of the authorization code flow (RFC 8252,
 * section 7.3): it waits on `127.0.0.1`, `[::1]` or `localhost` for the one
 * request the browser makes to the redirect URI, and answers the browser
 * with a short page.
 *
 * @module
 */

import { AuthError, ConfigError, TokenRequestError } from "../errors.ts";

/** A listening loopback redirect endpoint. */
export interface LoopbackListener {
  /** The redirect URI to send, with the port actually bound. */
  readonly redirectUri: string;
  /**
   * Settles on the first request to the redirect path: with its query when
   * it carries the expected state and a code, else with an error.
   */
  readonly callback: Promise<URLSearchParams>;
  /** Stops listening and closes every connection; harmless twice. */
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
  connection: "close",
};

/**
 * Checks that a redirect URI can be listened on here.
 *
 * @param redirectUri The client's redirect URI.
 * @returns The parsed URI.
 * @throws {ConfigError} When it is not `http` on a loopback host.
 */
export function loopbackRedirect(redirectUri: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(redirectUri);
  } catch {
    // Reported below.
  }
  if (url?.protocol !== "http:" || !listenHost(url.hostname)) {
    throw new ConfigError(
      `Cannot listen for the log-in redirect on "${redirectUri}": the redirect URI must be http on 127.0.0.1, [::1] or localhost; register such a redirect URI for the client and configure it`,
    );
  }
  return url;
}

/**
 * Starts listening on a loopback redirect URI. Without a port in the URI, a
 * free port is chosen (RFC 8252, section 7.3) and `redirectUri` names it.
 *
 * Requires `--allow-net` for the host and port.
 *
 * @param redirect The redirect URI, checked by {@linkcode loopbackRedirect}.
 * @param expectedState The `state` the callback must carry.
 * @returns The listener.
 * @throws {AuthError} When the port is in use or may not be listened on.
 */
export function listenOnLoopback(
  redirect: URL,
  expectedState: string,
): LoopbackListener {
  const { promise: callback, resolve, reject } = Promise.withResolvers<
    URLSearchParams
  >();
  // The flow may have ended (timeout, abort) before a late callback fails.
  callback.catch(() => {});
  let settled = false;
  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    if (url.pathname !== redirect.pathname) return page(404, "Not found");
    if (request.method !== "GET") return page(405, "Method not allowed");
    if (settled) return page(409, "This log-in is already over");
    settled = true;
    const outcome = readCallback(url.searchParams, expectedState);
    if (outcome instanceof AuthError) {
      reject(outcome);
      const reason = outcome instanceof TokenRequestError ? outcome.error : "";
      return page(
        400,
        `Log-in failed (${reason}): go back to the program that opened this page`,
      );
    }
    resolve(outcome);
    return page(200, "Logged in: you may close this tab");
  };
  const server = serve(redirect, handler);
  const bound = new URL(redirect);
  bound.port = String(server.addr.port);
  let closing: Promise<void> | undefined;
  return {
    redirectUri: bound.href,
    callback,
    close: () => (closing ??= server.shutdown()),
  };
}

function serve(
  redirect: URL,
  handler: (request: Request) => Response,
): Deno.HttpServer<Deno.NetAddr> {
  const port = redirect.port === "" ? 0 : Number(redirect.port);
  try {
    return Deno.serve({
      hostname: listenHost(redirect.hostname),
      port,
      onListen() {},
    }, handler);
  } catch (cause) {
    const reason = cause instanceof Deno.errors.AddrInUse
      ? `port ${port} is already in use; stop the program using it, or register and configure a redirect URI with another port`
      : cause instanceof Deno.errors.NotCapable
      ? "permission denied; run Deno with --allow-net"
      : `${(cause as Error).message}; check the redirect URI`;
    throw new AuthError(
      `Cannot listen for the log-in redirect on "${redirect.host}": ${reason}`,
      { cause },
    );
  }
}

/** The address to bind for a loopback host name, if it is one. */
function listenHost(hostname: string): string | undefined {
  if (hostname === "localhost") return "127.0.0.1";
  if (hostname === "[::1]") return "::1";
  return /^127(\.\d{1,3}){3}$/.test(hostname) ? hostname : undefined;
}

/** Checks a callback query (RFC 6749, section 4.1.2). */
function readCallback(
  params: URLSearchParams,
  expectedState: string,
): URLSearchParams | AuthError {
  if (params.get("state") !== expectedState) {
    return new TokenRequestError(
      "Cannot finish the log-in: the redirect carries another state than this log-in sent; log in again from this program only",
      { error: "state_mismatch" },
    );
  }
  const error = params.get("error");
  if (error !== null) {
    const description = params.get("error_description")?.slice(0, 200);
    return new TokenRequestError(
      `Cannot finish the log-in: the authorization server answered "${error}"${
        description ? ` (${description})` : ""
      }; log in again, and grant access when asked`,
      { error },
      error === "access_denied" ? "ACCESS_DENIED" : "TOKEN_REQUEST_FAILED",
    );
  }
  if (!params.get("code")) {
    return new TokenRequestError(
      "Cannot finish the log-in: the redirect carries no code; log in again",
      { error: "missing_code" },
    );
  }
  return params;
}

function page(status: number, text: string): Response {
  const body = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>sesame</title>
<p>${escapeHtml(text)}</p>
</html>
`;
  return new Response(body, { status, headers: PAGE_HEADERS });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
