/**
 * A real OAuth 2 / OpenID Connect authorization server for tests and the
 * demo: panva's `oidc-provider`, run in a child process on `127.0.0.1` with
 * a port the system picks.
 *
 * It registers three clients: two confidential ones for client credentials
 * (`client_secret_basic` and `client_secret_post`, the same secret) and a
 * public native one for PKCE and the device flow, whose redirect URI
 * `http://127.0.0.1/callback` matches any port. Access tokens are JWTs, so
 * their `exp` is readable; refresh tokens are issued for `offline_access`
 * and rotated on every use. Its login page accepts any name and password:
 * `./browser.ts` plays the person.
 *
 * Requires `--allow-run` (it starts `deno`), `--allow-net` and
 * `--allow-read`.
 *
 * @example Client credentials against the test server
 * ```ts ignore
 * import { startIdp } from "./idp.ts";
 *
 * await using idp = await startIdp();
 * const { clientId, clientSecret } = idp.clients.confidential;
 * const response = await fetch(idp.tokenEndpoint, {
 *   method: "POST",
 *   headers: { authorization: `Basic ${btoa(`${clientId}:${clientSecret}`)}` },
 *   body: new URLSearchParams({ grant_type: "client_credentials" }),
 * });
 * console.assert(response.ok && (await idp.tokenRequests()) === 1);
 * ```
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** Options of {@linkcode startIdp}. */
export interface IdpOptions {
  /**
   * Access token lifetime, in seconds.
   *
   * @default {3600}
   */
  accessTokenTtlSeconds?: number;
  /**
   * Refresh token lifetime, in seconds.
   *
   * @default {86400}
   */
  refreshTokenTtlSeconds?: number;
  /**
   * Device code lifetime, in seconds.
   *
   * @default {600}
   */
  deviceCodeTtlSeconds?: number;
  /**
   * How long to wait for the server to start, in milliseconds; the first
   * start on a machine may download `oidc-provider` from npm.
   *
   * @default {120000}
   */
  startTimeoutMs?: number;
}

/** A client registered at the test server. */
export interface IdpClient {
  /** The client id. */
  clientId: string;
  /** The client secret; absent for the public client. */
  clientSecret?: string;
}

/** A running test authorization server. */
export interface Idp extends AsyncDisposable {
  /** The issuer, `http://127.0.0.1:PORT`. */
  issuer: string;
  /** The token endpoint. */
  tokenEndpoint: string;
  /** The authorization endpoint, for PKCE. */
  authorizationEndpoint: string;
  /** The device authorization endpoint (RFC 8628). */
  deviceAuthorizationEndpoint: string;
  /** The page where a person types a device's user code. */
  deviceVerificationUri: string;
  /** The OpenID Connect discovery document's URL. */
  discoveryUrl: string;
  /** The redirect URI registered for the native client; any port matches. */
  redirectUri: string;
  /** The resource indicator, and audience, of the access tokens. */
  resource: string;
  /** Every scope the server knows. */
  scopes: readonly string[];
  /** The registered clients. */
  clients: {
    /** Client credentials with `client_secret_basic`. */
    confidential: Required<IdpClient>;
    /** Client credentials with `client_secret_post`. */
    confidentialPost: Required<IdpClient>;
    /** The public client for PKCE and the device flow. */
    native: IdpClient;
  };
  /**
   * Counts the token endpoint requests the server has received.
   *
   * @returns The count since the server started.
   */
  tokenRequests(): Promise<number>;
  /** Stops the server and waits for its process to end. */
  close(): Promise<void>;
}

/**
 * What `startIdp()` passes to the server process, as JSON.
 *
 * @internal
 */
export interface IdpServerSettings {
  /** The client ids to register. */
  clientIds: { confidential: string; confidentialPost: string; native: string };
  /** The confidential clients' secret. */
  clientSecret: string;
  /** Every scope the server knows. */
  scopes: string[];
  /** Access token lifetime, in seconds. */
  accessTokenTtlSeconds: number;
  /** Refresh token lifetime, in seconds. */
  refreshTokenTtlSeconds: number;
  /** Device code lifetime, in seconds. */
  deviceCodeTtlSeconds: number;
  /** The resource indicator the access tokens are for. */
  resource: string;
}

const CLIENT_IDS = {
  confidential: "sesame-confidential",
  confidentialPost: "sesame-confidential-post",
  native: "sesame-native",
};

const SCOPES = ["openid", "offline_access", "api:read", "api:write"];

const DEFAULTS = {
  accessTokenTtlSeconds: 3600,
  refreshTokenTtlSeconds: 86400,
  deviceCodeTtlSeconds: 600,
  startTimeoutMs: 120_000,
};

/**
 * Starts the test authorization server in a child process and waits until
 * it listens.
 *
 * @param options Token lifetimes and the start timeout.
 * @returns The running server; close it, or declare it with `await using`.
 */
export async function startIdp(options: IdpOptions = {}): Promise<Idp> {
  const settings: IdpServerSettings = {
    clientIds: CLIENT_IDS,
    clientSecret: randomSecret(),
    scopes: SCOPES,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ??
      DEFAULTS.accessTokenTtlSeconds,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ??
      DEFAULTS.refreshTokenTtlSeconds,
    deviceCodeTtlSeconds: options.deviceCodeTtlSeconds ??
      DEFAULTS.deviceCodeTtlSeconds,
    resource: "urn:sesame:test-api",
  };
  const child = spawnServer(settings);
  const stderr = collectTail(child.stderr);
  const lines = readLines(child.stdout);
  let issuer: string;
  try {
    issuer = await readIssuer(
      lines,
      options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
    );
  } catch (error) {
    await stopChild(child, lines, stderr);
    const tail = stderr.text().trim().split("\n").slice(-5).join(" | ");
    throw new Error(
      `Cannot start the test authorization server: ${
        (error as Error).message
      }; its stderr ends with: ${tail}`,
      { cause: error },
    );
  }
  return describe(issuer, settings, () => stopChild(child, lines, stderr));
}

function describe(
  issuer: string,
  settings: IdpServerSettings,
  stop: () => Promise<void>,
): Idp {
  let closing: Promise<void> | undefined;
  const close = () => closing ??= stop();
  const secret = settings.clientSecret;
  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    authorizationEndpoint: `${issuer}/auth`,
    deviceAuthorizationEndpoint: `${issuer}/device/auth`,
    deviceVerificationUri: `${issuer}/device`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    redirectUri: "http://127.0.0.1/callback",
    resource: settings.resource,
    scopes: SCOPES,
    clients: {
      confidential: { clientId: CLIENT_IDS.confidential, clientSecret: secret },
      confidentialPost: {
        clientId: CLIENT_IDS.confidentialPost,
        clientSecret: secret,
      },
      native: { clientId: CLIENT_IDS.native },
    },
    async tokenRequests() {
      const response = await fetch(`${issuer}/__sesame/stats`);
      const { tokenRequests } = await response.json();
      return tokenRequests as number;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function spawnServer(settings: IdpServerSettings): Deno.ChildProcess {
  const script = fileURLToPath(new URL("./idp_server.ts", import.meta.url));
  const config = fileURLToPath(new URL("../../deno.json", import.meta.url));
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--allow-sys",
      `--config=${config}`,
      script,
      JSON.stringify(settings),
    ],
    // The child exits when its stdin closes, so it dies with this process.
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function readIssuer(
  lines: LineReader,
  timeoutMs: number,
): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no issuer after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const line = await Promise.race([lines.next(), timeout]);
    if (line === undefined) throw new Error("it exited before listening");
    const { issuer } = JSON.parse(line);
    if (typeof issuer !== "string") throw new Error(`it printed ${line}`);
    return issuer;
  } finally {
    clearTimeout(timer);
  }
}

async function stopChild(
  child: Deno.ChildProcess,
  lines: LineReader,
  stderr: Tail,
): Promise<void> {
  await child.stdin.close().catch(() => {});
  try {
    child.kill("SIGTERM");
  } catch {
    // Already exited.
  }
  await child.status;
  await Promise.all([lines.done, stderr.done]);
}

interface LineReader {
  /** Resolves with the next line, or `undefined` at the end. */
  next(): Promise<string | undefined>;
  /** Resolves when the stream is read to its end. */
  done: Promise<void>;
}

/** Reads lines as they come and keeps reading to the end. */
function readLines(stream: ReadableStream<Uint8Array>): LineReader {
  const queue: string[] = [];
  const waiters: ((line: string | undefined) => void)[] = [];
  let ended = false;
  const push = (line: string | undefined) => {
    const waiter = waiters.shift();
    if (waiter) waiter(line);
    else if (line !== undefined) queue.push(line);
  };
  const done = (async () => {
    let buffer = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      parts.forEach(push);
    }
  })().catch(() => {
    // A broken pipe ends the lines like an end of stream does.
  }).finally(() => {
    ended = true;
    while (waiters.length) push(undefined);
  });
  return {
    next() {
      if (queue.length) return Promise.resolve(queue.shift());
      if (ended) return Promise.resolve(undefined);
      return new Promise((resolve) => waiters.push(resolve));
    },
    done,
  };
}

interface Tail {
  text(): string;
  done: Promise<void>;
}

/** Keeps the last 16 KiB of a stream, reading it to its end. */
function collectTail(stream: ReadableStream<Uint8Array>): Tail {
  let kept = "";
  const done = (async () => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      kept = (kept + text).slice(-16_384);
    }
  })().catch(() => {});
  return { text: () => kept, done };
}

function randomSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, "x");
}
