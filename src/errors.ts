/**
 * The errors sesame throws. Every failure a caller can act on is an
 * {@linkcode AuthError} with a stable `code`; branch on the class or the code,
 * never on the message.
 *
 * @module
 */

/** The stable codes carried by {@linkcode AuthError}s. */
export type AuthErrorCode =
  | "AUTH_ERROR"
  | "UNKNOWN_AUTH_MODE"
  | "PLUGIN_LOAD_FAILED"
  | "PLUGIN_CONTRACT_VIOLATED"
  | "PLUGIN_INIT_FAILED"
  | "CONFIG_INVALID"
  | "COMMAND_FAILED"
  | "TOKEN_REQUEST_FAILED"
  | "ACCESS_DENIED"
  | "EXPIRED_TOKEN"
  | "INTERACTION_REQUIRED"
  | "TIMEOUT";

/** Options accepted by every {@linkcode AuthError} constructor. */
export interface AuthErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * The base class of every error sesame throws on purpose.
 *
 * @example Branching on the code
 * ```ts
 * import { AuthError } from "@sesame/auth";
 *
 * const error: unknown = new AuthError("Cannot get a token; log in again");
 * if (error instanceof AuthError && error.code === "AUTH_ERROR") {
 *   // handle it
 * }
 * ```
 */
export class AuthError extends Error {
  /** A stable code to branch on. */
  readonly code: AuthErrorCode;

  /**
   * Creates an error with a message that says what failed and what to do.
   *
   * @param message What failed and what to do, never a token or secret.
   * @param options The cause, when wrapping another error.
   * @param code The stable code; subclasses pass their own.
   */
  constructor(
    message: string,
    options?: AuthErrorOptions,
    code: AuthErrorCode = "AUTH_ERROR",
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * No built-in mode, registered plugin or `auth.plugins` entry has the name.
 *
 * @example Checking the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownAuthModeError } from "@sesame/auth";
 *
 * const error = new UnknownAuthModeError("gcp", "Unknown auth mode \"gcp\"");
 * assert.ok(error.code === "UNKNOWN_AUTH_MODE");
 * ```
 */
export class UnknownAuthModeError extends AuthError {
  /** The mode name that was asked for. */
  readonly mode: string;

  /**
   * Creates the error.
   *
   * @param mode The mode name that was asked for.
   * @param message The full message, with the names that do exist.
   */
  constructor(mode: string, message: string) {
    super(message, undefined, "UNKNOWN_AUTH_MODE");
    this.mode = mode;
  }
}

/**
 * A plugin module named in `auth.plugins` could not be imported.
 *
 * @example Checking the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginLoadError } from "@sesame/auth";
 *
 * const error = new PluginLoadError("gcp", "Cannot load auth plugin \"gcp\"");
 * assert.ok(error.code === "PLUGIN_LOAD_FAILED");
 * ```
 */
export class PluginLoadError extends AuthError {
  /** The mode whose plugin failed to load. */
  readonly mode: string;

  /**
   * Creates the error.
   *
   * @param mode The mode whose plugin failed to load.
   * @param message What failed and what to do.
   * @param options The import error, as `cause`.
   */
  constructor(mode: string, message: string, options?: AuthErrorOptions) {
    super(message, options, "PLUGIN_LOAD_FAILED");
    this.mode = mode;
  }
}

/**
 * A plugin is not a function, or made something that is not an
 * {@linkcode Authenticator}.
 *
 * @example Checking the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginContractError } from "@sesame/auth";
 *
 * const error = new PluginContractError("gcp", "Auth plugin \"gcp\" ...");
 * assert.ok(error.code === "PLUGIN_CONTRACT_VIOLATED");
 * ```
 */
export class PluginContractError extends AuthError {
  /** The mode whose plugin broke the contract. */
  readonly mode: string;

  /**
   * Creates the error.
   *
   * @param mode The mode whose plugin broke the contract.
   * @param message What is missing and what to do.
   */
  constructor(mode: string, message: string) {
    super(message, undefined, "PLUGIN_CONTRACT_VIOLATED");
    this.mode = mode;
  }
}

/**
 * A plugin's factory or constructor threw; the original error is the
 * `cause`.
 *
 * @example Naming the mode in the message
 * ```ts
 * import assert from "node:assert/strict";
 * import { PluginInitError } from "@sesame/auth";
 *
 * const error = new PluginInitError("gcp", new Error("no key file"));
 * assert.ok(error.message.includes("\"gcp\""));
 * ```
 */
export class PluginInitError extends AuthError {
  /** The mode whose plugin threw. */
  readonly mode: string;

  /**
   * Creates the error.
   *
   * @param mode The mode whose plugin threw.
   * @param cause What the plugin threw.
   */
  constructor(mode: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      `Cannot create the authenticator for auth mode "${mode}": its plugin threw: ${reason}`,
      { cause },
      "PLUGIN_INIT_FAILED",
    );
    this.mode = mode;
  }
}

/**
 * A configuration file, value or setting is missing or malformed.
 *
 * @example Checking the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError } from "@sesame/auth";
 *
 * const error = new ConfigError("Cannot read \"deno.json\": ...");
 * assert.ok(error.code === "CONFIG_INVALID");
 * ```
 */
export class ConfigError extends AuthError {
  /**
   * Creates the error.
   *
   * @param message What is wrong, naming the file and key, and what to do.
   * @param options The parse or read error, as `cause`.
   */
  constructor(message: string, options?: AuthErrorOptions) {
    super(message, options, "CONFIG_INVALID");
  }
}

/**
 * An external credentials command failed, timed out or printed no token.
 *
 * @example Checking the code
 * ```ts
 * import assert from "node:assert/strict";
 * import { CommandError } from "@sesame/auth";
 *
 * const error = new CommandError("Command \"gcloud\" exited with code 1");
 * assert.ok(error.code === "COMMAND_FAILED");
 * ```
 */
export class CommandError extends AuthError {
  /**
   * Creates the error.
   *
   * @param message What the command did, with the end of its stderr.
   * @param options The underlying error, as `cause`.
   */
  constructor(message: string, options?: AuthErrorOptions) {
    super(message, options, "COMMAND_FAILED");
  }
}

/**
 * A request to a token, device or metadata endpoint failed.
 *
 * @example Reading the status and OAuth error
 * ```ts
 * import assert from "node:assert/strict";
 * import { TokenRequestError } from "@sesame/auth";
 *
 * const error = new TokenRequestError("Token request failed", {
 *   status: 400,
 *   error: "invalid_client",
 * });
 * assert.ok(error.status === 400);
 * ```
 */
export class TokenRequestError extends AuthError {
  /** The HTTP status, when a response came back. */
  readonly status?: number;
  /** The OAuth `error` field, when the server sent one. */
  readonly error?: string;

  /**
   * Creates the error.
   *
   * @param message What failed and what to do.
   * @param details The HTTP status, OAuth error and cause.
   * @param code A more precise code, such as `ACCESS_DENIED`.
   */
  constructor(
    message: string,
    details: { status?: number; error?: string; cause?: unknown } = {},
    code: AuthErrorCode = "TOKEN_REQUEST_FAILED",
  ) {
    super(message, { cause: details.cause }, code);
    this.status = details.status;
    this.error = details.error;
  }
}
