/**
 * The `external_process` mode: a program prints the token.
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import type { ClientConfigStore } from "../client_config.ts";
import type { AuthContext } from "../context.ts";
import { CommandError, ConfigError } from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import {
  CachingAuthenticator,
  type FetchCredentialsOptions,
} from "./caching_authenticator.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_TAIL_LINES = 5;

/** Options of {@linkcode CommandAuthenticator}. */
export interface CommandAuthenticatorOptions {
  /**
   * The program and its arguments.
   *
   * @default {config.command}
   */
  command?: string[];
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? "authorization"}
   */
  headerKey?: string;
  /**
   * How long the program may run, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * How much the program may print on stdout, in bytes.
   *
   * @default {1048576}
   */
  maxOutputBytes?: number;
}

/**
 * Gets a token by running a program, as flytekit's `ExternalCommand` mode
 * does, but once per token lifetime rather than once per call.
 *
 * The program runs from an argument list, with no shell. Its stdout is
 * either the bare token or JSON: `{"access_token", "expires_in"}`,
 * `{"token", "expiry"}`, or a Kubernetes `ExecCredential`
 * (`status.token`, `status.expirationTimestamp`). When none gives an expiry,
 * the token's JWT `exp` does; without one, the token is kept until
 * {@linkcode CachingAuthenticator.refreshCredentials}.
 *
 * Requires `--allow-run` for the program.
 *
 * @example Running a program
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommandAuthenticator } from "@sesame/auth";
 *
 * const authenticator = new CommandAuthenticator({
 *   command: ["deno", "eval", "console.log('a-token')"],
 * });
 * const { accessToken } = await authenticator.getCredentials();
 * assert.ok(accessToken === "a-token");
 * ```
 */
export class CommandAuthenticator extends CachingAuthenticator {
  readonly #command: readonly [string, ...string[]];
  readonly #timeoutMs: number;
  readonly #maxOutputBytes: number;

  /**
   * Creates the authenticator; the program runs when credentials are asked for.
   *
   * @param config The platform config; `command` is the program to run.
   * @param _store Unused: the program needs no client config.
   * @param context The clock and the event sink.
   * @param options Another command, header, timeout or output bound.
   * @throws {ConfigError} When there is no command to run.
   */
  constructor(
    config: PlatformConfig,
    _store?: ClientConfigStore,
    context?: Partial<AuthContext>,
    options: CommandAuthenticatorOptions = {},
  ) {
    super({
      headerKey: options.headerKey ?? config.authorizationHeader ??
        "authorization",
      context,
    });
    this.#command = checkCommand(options.command ?? config.command);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  /**
   * Runs the program and reads the token it prints.
   *
   * @param options The abort signal of the callers waiting.
   * @returns The token and its expiry, when known.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([options.signal, timeout]);
    const [program, ...args] = this.#command;
    const child = spawn(program, args, signal, this.#shown());
    const [stdout, stderr, status] = await Promise.all([
      readAtMost(child.stdout, this.#maxOutputBytes, signal, () => kill(child)),
      readTail(child.stderr, STDERR_TAIL_BYTES, signal),
      child.status,
    ]);

    if (timeout.aborted) {
      throw this.#failure(`timed out after ${this.#timeoutMs} ms`, stderr);
    }
    if (options.signal.aborted) throw options.signal.reason;
    if (stdout === undefined) {
      throw this.#failure(
        `printed more than ${this.#maxOutputBytes} bytes`,
        stderr,
      );
    }
    if (!status.success) {
      throw this.#failure(`exited with code ${status.code}`, stderr);
    }
    return parseTokenOutput(stdout, this.#shown(), this.now());
  }

  #shown(): string {
    return showCommand(this.#command);
  }

  #failure(what: string, stderr: string): CommandError {
    const tail = lastLines(stderr, STDERR_TAIL_LINES);
    const detail = tail ? `; its stderr ends with: ${tail}` : "";
    return new CommandError(
      `Command "${this.#shown()}" ${what}${detail}; check that it prints a token when run by hand`,
    );
  }
}

/**
 * Builds the authenticator for the config's `proxyCommand`, whose token goes
 * in the `proxy-authorization` header.
 *
 * Requires `--allow-run` for the program.
 *
 * @param config The platform config.
 * @param context The clock and the event sink.
 * @returns The authenticator, or `undefined` when there is no
 * `proxyCommand`.
 *
 * @example Running proxyCommand
 * ```ts
 * import assert from "node:assert/strict";
 * import { getProxyAuthenticator } from "@sesame/auth";
 *
 * const proxy = getProxyAuthenticator({ proxyCommand: ["echo", "p"] });
 * assert.ok(proxy?.headerKey === "proxy-authorization");
 * assert.ok(getProxyAuthenticator({}) === undefined);
 * ```
 */
export function getProxyAuthenticator(
  config: PlatformConfig,
  context?: Partial<AuthContext>,
): CommandAuthenticator | undefined {
  if (config.proxyCommand === undefined) return undefined;
  return new CommandAuthenticator(config, undefined, context, {
    command: config.proxyCommand,
    headerKey: "proxy-authorization",
  });
}

function checkCommand(command: unknown): readonly [string, ...string[]] {
  if (
    !Array.isArray(command) || command.length === 0 ||
    !command.every((part) => typeof part === "string") || command[0] === ""
  ) {
    throw new ConfigError(
      "Cannot use the external command auth mode: no command is set; set admin.command (or FLYTE_CREDENTIALS_COMMAND) to the program and its arguments",
    );
  }
  return Object.freeze([...command]) as [string, ...string[]];
}

function spawn(
  program: string,
  args: string[],
  signal: AbortSignal,
  shown: string,
): Deno.ChildProcess {
  try {
    return new Deno.Command(program, {
      args,
      signal,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (cause) {
    const reason = cause instanceof Deno.errors.NotFound
      ? "the program was not found; check the path or PATH"
      : cause instanceof Deno.errors.NotCapable
      ? "permission denied; run Deno with --allow-run"
      : (cause as Error).message;
    throw new CommandError(`Cannot run command "${shown}": ${reason}`, {
      cause,
    });
  }
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill();
  } catch {
    // Already gone.
  }
}

/** Reads a stream whole, or returns `undefined` past `limit` bytes. */
async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  signal: AbortSignal,
  onOverflow: () => void,
): Promise<string | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let overflow = false;
  await drain(stream, signal, (chunk) => {
    size += chunk.byteLength;
    if (size > limit) {
      if (!overflow) onOverflow();
      overflow = true;
    } else chunks.push(chunk);
  });
  return overflow ? undefined : decode(chunks);
}

/** Reads a stream whole, keeping about its last `keep` bytes. */
async function readTail(
  stream: ReadableStream<Uint8Array>,
  keep: number,
  signal: AbortSignal,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  await drain(stream, signal, (chunk) => {
    chunks.push(chunk);
    size += chunk.byteLength;
    while (size - chunks[0]!.byteLength >= keep) {
      size -= chunks.shift()!.byteLength;
    }
  });
  return decode(chunks);
}

/**
 * Reads until the end, or until the signal aborts: a grandchild that holds
 * the pipe open must not outlive the timeout.
 */
async function drain(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  const reader = stream.getReader();
  const cancel = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  } catch {
    // Cancelled on abort; the caller reports why.
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}

function decode(chunks: Uint8Array[]): string {
  const decoder = new TextDecoder();
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true }))
    .join("") + decoder.decode();
}

/**
 * Reads what a credentials program printed: a bare token, OAuth-style JSON,
 * `{"token", "expiry"}` or a Kubernetes `ExecCredential`.
 *
 * @param output The program's stdout.
 * @param shown The command, for messages.
 * @param now The time now, for `expires_in`.
 * @returns The credentials; `expiresAt` only when the output gives one.
 */
export function parseTokenOutput(
  output: string,
  shown: string,
  now: number,
): Credentials {
  const text = output.trim();
  if (text === "") {
    throw new CommandError(
      `Command "${shown}" printed nothing on stdout; make it print the token`,
    );
  }
  if (!text.startsWith("{")) return parseBareToken(text, shown);

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CommandError(
      `Command "${shown}" printed output that starts like JSON but does not parse; print the bare token or valid JSON`,
      { cause },
    );
  }
  return parseTokenJson(json as Record<string, unknown>, shown, now);
}

function parseBareToken(text: string, shown: string): Credentials {
  if (/\s/.test(text)) {
    throw new CommandError(
      `Command "${shown}" printed more than one word on stdout; print only the token, or JSON`,
    );
  }
  return { accessToken: text };
}

function parseTokenJson(
  json: Record<string, unknown>,
  shown: string,
  now: number,
): Credentials {
  const status = asRecord(json.status);
  const nested = asRecord(json.credential);
  const token = json.access_token ?? json.token ?? status?.token ??
    nested?.access_token;
  if (typeof token !== "string" || token === "") {
    throw new CommandError(
      `Command "${shown}" printed JSON without a token; expected "access_token", "token" or an ExecCredential's "status.token"`,
    );
  }
  const credentials: Credentials = { accessToken: token };
  const expiresAt = readExpiry(json, status, nested, shown, now);
  if (expiresAt !== undefined) credentials.expiresAt = expiresAt;
  if (typeof json.id_token === "string") credentials.idToken = json.id_token;
  return credentials;
}

function readExpiry(
  json: Record<string, unknown>,
  status: Record<string, unknown> | undefined,
  nested: Record<string, unknown> | undefined,
  shown: string,
  now: number,
): number | undefined {
  if (typeof json.expires_in === "number") {
    return now + json.expires_in * 1000;
  }
  const stamp = json.expiry ?? status?.expirationTimestamp ??
    nested?.token_expiry;
  if (stamp === undefined || stamp === null || stamp === "") return undefined;
  const time = typeof stamp === "string" ? Date.parse(stamp) : NaN;
  if (Number.isNaN(time)) {
    throw new CommandError(
      `Command "${shown}" printed an expiry that is not an RFC 3339 date; print a date such as "2030-01-01T00:00:00Z"`,
    );
  }
  return time;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null
    ? value as Record<string, unknown>
    : undefined;
}

const SECRET_ARGUMENT = /secret|token|password|passwd|key/i;

/** The command for messages, with values of secret-looking flags hidden. */
function showCommand(command: readonly string[]): string {
  const shown: string[] = [];
  for (const [index, part] of command.entries()) {
    const previous = command[index - 1];
    if (/^--?[\w-]+=/.test(part) && SECRET_ARGUMENT.test(part.split("=")[0]!)) {
      shown.push(`${part.split("=")[0]}=***`);
    } else if (
      index > 1 && previous?.startsWith("-") && !previous.includes("=") &&
      SECRET_ARGUMENT.test(previous)
    ) {
      shown.push("***");
    } else shown.push(part);
  }
  return shown.join(" ");
}

function lastLines(text: string, count: number): string {
  return text.trim().split("\n").slice(-count).join(" | ").slice(-1000);
}
