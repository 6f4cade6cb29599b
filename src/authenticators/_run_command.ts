/**
 * Runs a credentials program and reads the token it prints: spawning it,
 * bounding its time and output, and parsing its stdout. Loaded lazily by
 * `CommandAuthenticator.fetchCredentials`, so that a program finding its
 * token cached never loads it.
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import { CommandError } from "../errors.ts";

const STDERR_TAIL_BYTES = 16 * 1024;
const STDERR_TAIL_LINES = 5;

/** How {@linkcode runTokenCommand} runs the program. */
export interface RunTokenCommandOptions {
  /** How long the program may run, in milliseconds. */
  timeoutMs: number;
  /** How much the program may print on stdout, in bytes. */
  maxOutputBytes: number;
  /** The abort signal of the callers waiting. */
  signal: AbortSignal;
  /** The time now, read once the program has printed its token. */
  now: () => number;
}

/**
 * Runs the program, with no shell, and reads the token it prints.
 *
 * @param command The program and its arguments.
 * @param options The time and output bounds, the signal and the clock.
 * @returns The token and its expiry, when the output gives one.
 * @throws {CommandError} When the program cannot run, fails, times out,
 * prints too much or prints no token.
 */
export async function runTokenCommand(
  command: readonly [string, ...string[]],
  options: RunTokenCommandOptions,
): Promise<Credentials> {
  const { timeoutMs, maxOutputBytes } = options;
  const shown = showCommand(command);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([options.signal, timeout]);
  const [program, ...args] = command;
  const child = spawn(program, args, signal, shown);
  const [stdout, stderr, status] = await Promise.all([
    readAtMost(child.stdout, maxOutputBytes, signal, () => kill(child)),
    readTail(child.stderr, STDERR_TAIL_BYTES, signal),
    child.status,
  ]);

  if (timeout.aborted) {
    throw failure(shown, `timed out after ${timeoutMs} ms`, stderr);
  }
  if (options.signal.aborted) throw options.signal.reason;
  if (stdout === undefined) {
    throw failure(shown, `printed more than ${maxOutputBytes} bytes`, stderr);
  }
  if (!status.success) {
    throw failure(shown, `exited with code ${status.code}`, stderr);
  }
  return parseTokenOutput(stdout, shown, options.now());
}

/** The error for a program that failed, with the end of its stderr. */
function failure(shown: string, what: string, stderr: string): CommandError {
  const tail = lastLines(stderr, STDERR_TAIL_LINES);
  const detail = tail ? `; its stderr ends with: ${tail}` : "";
  return new CommandError(
    `Command "${shown}" ${what}${detail}; check that it prints a token when run by hand`,
  );
}

/** Starts the program, or throws a {@linkcode CommandError} saying why not. */
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

/** Kills the program, unless it has already exited. */
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

/** Decodes UTF-8 chunks, even when one splits a character. */
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

/** Reads output that is not JSON: one word, the token. */
function parseBareToken(text: string, shown: string): Credentials {
  if (/\s/.test(text)) {
    throw new CommandError(
      `Command "${shown}" printed more than one word on stdout; print only the token, or JSON`,
    );
  }
  return { accessToken: text };
}

/** Reads the token, expiry and ID token from JSON output. */
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

/** Reads the expiry, from `expires_in` or an RFC 3339 date. */
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

/** The value as an object, or `undefined` when it is not one. */
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

/** The last `count` lines of the text, on one line, for messages. */
function lastLines(text: string, count: number): string {
  return text.trim().split("\n").slice(-count).join(" | ").slice(-1000);
}
