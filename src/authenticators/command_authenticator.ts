/**
 * The `external_process` mode: a program prints the token.
 *
 * @module
 */

import type { Credentials } from "../authenticator.ts";
import type { ClientConfigStore } from "../client_config.ts";
import type { AuthContext } from "../context.ts";
import { ConfigError } from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import {
  CachingAuthenticator,
  type FetchCredentialsOptions,
} from "./caching_authenticator.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

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
    // Imported when a token is needed, so that a program finding its token
    // cached never loads the code that runs the program.
    const { runTokenCommand } = await import("./_run_command.ts");
    return await runTokenCommand(this.#command, {
      timeoutMs: this.#timeoutMs,
      maxOutputBytes: this.#maxOutputBytes,
      signal: options.signal,
      now: () => this.now(),
    });
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
