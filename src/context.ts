/**
 * The context every authenticator receives: how to make requests, where to
 * keep credentials, how to reach the person, and where to report events.
 *
 * @module
 */

import { AuthError, ConfigError } from "./errors.ts";
import type { PlatformConfig } from "./platform_config.ts";
import type { CredentialStore } from "./store/credential_store.ts";
import { FileCredentialStore } from "./store/file_credential_store.ts";

/** The `fetch` signature sesame calls, and that callers may inject. */
export type FetchLike = (
  input: Request | URL | string,
  init?: RequestInit,
) => Promise<Response>;

/** What a person must see to finish a log-in on another device or tab. */
export interface DevicePrompt {
  /** `"device"` for a device code (RFC 8628); `"browser"` when the browser could not be opened. */
  kind: "device" | "browser";
  /** The page to visit: the verification URI, or the authorization URL. */
  verificationUri: string;
  /** The verification URI with the code in it, when the server gives one. */
  verificationUriComplete?: string;
  /** The code to type on that page; empty for `"browser"`. */
  userCode: string;
  /** When the code or flow expires, in epoch milliseconds. */
  expiresAt: number;
}

/** Where an auth mode name was found. */
export type AuthModeSource = "builtin" | "registry" | "config";

/**
 * Something an authenticator did, for logs and `--verbose`. Events never
 * carry a token or a secret.
 */
export type AuthEvent =
  | {
    type: "mode_resolved";
    mode: string;
    source: AuthModeSource;
    configFile?: string;
    url?: string;
  }
  | {
    type: "credentials_fetched";
    authenticator: string;
    from: "network" | "store";
    expiresAt?: number;
  }
  | { type: "cache_hit"; authenticator: string; expiresAt?: number }
  | {
    type: "refresh_started";
    authenticator: string;
    reason: "missing" | "ahead" | "expired" | "rejected" | "forced";
  }
  | {
    type: "refresh_failed";
    authenticator: string;
    code: string;
    message: string;
  }
  | {
    type: "retry";
    url: string;
    attempt: number;
    delayMs: number;
    reason: string;
  };

/**
 * What built-in authenticators and plugins receive besides the config.
 */
export interface AuthContext {
  /** Makes requests, honouring the config's CA file and HTTP proxy. */
  fetch: FetchLike;
  /** Keeps credentials between calls and runs. */
  credentialStore: CredentialStore;
  /**
   * Opens a URL in the person's browser.
   *
   * @param url The URL to open.
   */
  openBrowser(url: string): Promise<void>;
  /**
   * Shows the person where to go and what to type.
   *
   * @param prompt The page and the code.
   */
  onDevicePrompt(prompt: DevicePrompt): void | Promise<void>;
  /**
   * Receives an event; must not throw.
   *
   * @param event What happened.
   */
  onEvent(event: AuthEvent): void;
  /** The clock, in epoch milliseconds; injectable for tests. */
  now(): number;
}

/**
 * Builds an {@linkcode AuthContext} for a config, with defaults for whatever
 * `overrides` leaves out.
 *
 * Defaults: a `fetch` that trusts `caCertFilePath` and goes through
 * `httpProxyUrl`, a {@linkcode FileCredentialStore} in the user cache
 * directory (found on first use, by authenticators that store logins; it
 * then needs `--allow-env`, `--allow-read` and `--allow-write`), the
 * system's browser opener, a device prompt that fails (a library cannot show
 * one; pass your own), an event sink that drops events, and `Date.now`.
 *
 * @param config The platform config.
 * @param overrides Parts to use instead of the defaults.
 * @returns The context.
 *
 * @example Collecting events
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthContext, type AuthEvent } from "@sesame/auth";
 *
 * const events: AuthEvent[] = [];
 * const context = createAuthContext({}, { onEvent: (e) => events.push(e) });
 * context.onEvent({ type: "cache_hit", authenticator: "Example" });
 * assert.ok(events.length === 1);
 * ```
 */
export function createAuthContext(
  config: PlatformConfig,
  overrides: Partial<AuthContext> = {},
): AuthContext {
  return {
    fetch: overrides.fetch ?? createPlatformFetch(config),
    credentialStore: overrides.credentialStore ?? new FileCredentialStore(),
    openBrowser: overrides.openBrowser ?? openSystemBrowser,
    onDevicePrompt: overrides.onDevicePrompt ?? refuseDevicePrompt,
    onEvent: overrides.onEvent ?? dropEvent,
    now: overrides.now ?? Date.now,
  };
}

/**
 * A `fetch` bound to one platform's TLS and proxy settings; `close()` frees
 * its HTTP client.
 */
export interface PlatformFetch extends FetchLike, Disposable {
  /** Closes the HTTP client, if one was made; harmless to call twice. */
  close(): void;
}

/**
 * Returns a `fetch` that trusts the config's CA file and uses its HTTP proxy.
 * The CA file is read, and the HTTP client made, on the first request.
 *
 * > [!NOTE]
 * > With `caCertFilePath` or `httpProxyUrl` the HTTP client lives until
 * > `close()`: a long-running program that makes many contexts should make
 * > one platform fetch and pass it as `context.fetch`.
 *
 * Requires `--allow-read` for the CA file and `--allow-net` for requests.
 *
 * @param config The platform config.
 * @returns The `fetch`.
 *
 * @example Going through a proxy
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPlatformFetch } from "@sesame/auth";
 *
 * using platformFetch = createPlatformFetch({
 *   httpProxyUrl: "http://proxy.example.com:3128",
 * });
 * assert.ok(typeof platformFetch === "function");
 * ```
 */
export function createPlatformFetch(config: PlatformConfig): PlatformFetch {
  const { caCertFilePath, httpProxyUrl } = config;
  let client: Deno.HttpClient | undefined;
  const platformFetch = async function platformFetch(
    input: Request | URL | string,
    init?: RequestInit,
  ): Promise<Response> {
    if (!caCertFilePath && !httpProxyUrl) return await fetch(input, init);
    client ??= createHttpClient(caCertFilePath, httpProxyUrl);
    return await fetch(input, { ...init, client });
  };
  const close = () => {
    client?.close();
    client = undefined;
  };
  return Object.assign(platformFetch, { close, [Symbol.dispose]: close });
}

function createHttpClient(
  caCertFilePath: string | undefined,
  httpProxyUrl: string | undefined,
): Deno.HttpClient {
  const caCerts = caCertFilePath ? [readCaFile(caCertFilePath)] : undefined;
  const proxy = httpProxyUrl ? { url: httpProxyUrl } : undefined;
  return Deno.createHttpClient({ caCerts, proxy });
}

function readCaFile(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (cause) {
    throw new ConfigError(
      `Cannot read the CA file "${path}" (caCertFilePath): ${
        (cause as Error).message
      }; fix the path or remove the setting`,
      { cause },
    );
  }
}

async function openSystemBrowser(url: string): Promise<void> {
  const [program, ...args] = browserCommand(url);
  const child = new Deno.Command(program!, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const status = await child.status;
  if (!status.success) {
    throw new AuthError(
      `Cannot open a browser: "${program}" exited with code ${status.code}; open the URL by hand`,
    );
  }
}

function browserCommand(url: string): string[] {
  switch (Deno.build.os) {
    case "darwin":
      return ["open", url];
    case "windows":
      return ["cmd", "/c", "start", '""', url];
    default:
      return ["xdg-open", url];
  }
}

function refuseDevicePrompt(): never {
  throw new AuthError(
    "Cannot show the log-in prompt: no onDevicePrompt was given; pass options.context.onDevicePrompt, or log in with the sesame CLI first",
    undefined,
    "INTERACTION_REQUIRED",
  );
}

function dropEvent(): void {}
