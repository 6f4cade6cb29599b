/**
 * An auth plugin that sends a token kept in an environment variable or a
 * file, for CI jobs and tests where something else already got the token.
 *
 * The source is, in this order: the `file` option, the `variable` option,
 * the file named by `SESAME_TOKEN_FILE`, the `SESAME_TOKEN` variable. The
 * token is kept until a server rejects it (or, for a JWT, until it nears
 * its `exp`); then the source is read again, so a token file that something
 * else rewrites is picked up.
 *
 * Register it with {@linkcode staticToken}, or list this module in the
 * `auth.plugins` of `deno.json`, whose default export reads the variables
 * above.
 *
 * @example Sending a token from a file
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   getAuthenticator,
 *   registerAuthenticatorPlugin,
 *   StaticClientConfigStore,
 * } from "@sesame/auth";
 * import { staticToken } from "@sesame/auth/plugins/static_token";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/token`, "a-ci-token\n");
 * registerAuthenticatorPlugin("ci", staticToken({ file: `${dir}/token` }));
 *
 * const authenticator = await getAuthenticator(
 *   { authMode: "ci" },
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 * );
 * const { accessToken } = await authenticator.getCredentials();
 * assert.ok(accessToken === "a-ci-token");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import {
  type AuthContext,
  type AuthenticatorFactory,
  CachingAuthenticator,
  type ClientConfigStore,
  ConfigError,
  type Credentials,
  type PlatformConfig,
} from "../mod.ts";
import {
  checkOptionTypes,
  type EnvReader,
  envReader,
  readSourceFile,
} from "./_sources.ts";

const TOKEN_ENV = "SESAME_TOKEN";
const TOKEN_FILE_ENV = "SESAME_TOKEN_FILE";

/** Options of {@linkcode StaticTokenAuthenticator} and {@linkcode staticToken}. */
export interface StaticTokenOptions {
  /**
   * The environment variable that holds the token.
   *
   * @default {"SESAME_TOKEN"}
   */
  variable?: string;
  /**
   * A file that holds the token, alone or followed by a newline; it wins
   * over `variable`.
   *
   * @default {the file named by SESAME_TOKEN_FILE}
   */
  file?: string;
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? "authorization"}
   */
  headerKey?: string;
  /** Environment variables to read instead of the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Sends a token read from an environment variable or a file, and reads it
 * again when a server rejects it.
 *
 * Requires `--allow-env` for the variables and `--allow-read` for a file.
 *
 * @example Reading a given variable
 * ```ts
 * import assert from "node:assert/strict";
 * import { StaticTokenAuthenticator } from "@sesame/auth/plugins/static_token";
 *
 * const authenticator = new StaticTokenAuthenticator({}, undefined, {}, {
 *   variable: "CI_TOKEN",
 *   env: { CI_TOKEN: "a-ci-token" },
 * });
 * const { accessToken } = await authenticator.getCredentials();
 * assert.ok(accessToken === "a-ci-token");
 * ```
 */
export class StaticTokenAuthenticator extends CachingAuthenticator {
  readonly #options: StaticTokenOptions;
  readonly #readEnv: EnvReader;

  /**
   * Creates the authenticator; nothing is read until credentials are asked
   * for.
   *
   * @param config The platform config; `authorizationHeader` is the header.
   * @param _store Unused: the token needs no client config.
   * @param context The clock and the event sink.
   * @param options The variable or file, the header, the environment.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(
    config: PlatformConfig = {},
    _store?: ClientConfigStore,
    context?: Partial<AuthContext>,
    options: StaticTokenOptions = {},
  ) {
    checkOptions(options);
    super({
      headerKey: options.headerKey ?? config.authorizationHeader ??
        "authorization",
      context,
    });
    this.#options = { ...options };
    this.#readEnv = envReader(options.env);
  }

  /**
   * Reads the token from its source.
   *
   * @returns The token; its expiry is its JWT `exp`, else unknown.
   */
  protected async fetchCredentials(): Promise<Credentials> {
    const { variable } = this.#options;
    const file = this.#options.file ??
      (variable === undefined ? this.#readEnv(TOKEN_FILE_ENV) : undefined);
    if (file !== undefined) {
      const text = await readSourceFile(
        file,
        "the token file",
        `fix the path, or unset ${TOKEN_FILE_ENV} to read ${TOKEN_ENV}`,
      );
      return { accessToken: checkToken(text, `the token file "${file}"`) };
    }

    const name = variable ?? TOKEN_ENV;
    const value = this.#readEnv(name);
    if (value === undefined) {
      throw new ConfigError(
        `Cannot read the token from environment variable "${name}": it is not set; set it, or set ${TOKEN_FILE_ENV} to a file that holds the token`,
      );
    }
    return {
      accessToken: checkToken(value, `environment variable "${name}"`),
    };
  }
}

/**
 * Returns a plugin that sends a token from the given variable or file, to
 * register under a mode name.
 *
 * Requires `--allow-env` for the variables and `--allow-read` for a file.
 *
 * @param options The variable or file, the header, the environment.
 * @returns The plugin's factory.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example Registering it
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { staticToken } from "@sesame/auth/plugins/static_token";
 *
 * registerAuthenticatorPlugin("ci", staticToken({ variable: "CI_TOKEN" }));
 * ```
 */
export function staticToken(
  options: StaticTokenOptions = {},
): AuthenticatorFactory {
  checkOptions(options);
  return function staticTokenWithOptions(config, store, context) {
    return new StaticTokenAuthenticator(config, store, context, options);
  };
}

/**
 * The plugin's default factory, found through `auth.plugins`: it reads
 * `SESAME_TOKEN_FILE`, else `SESAME_TOKEN`.
 *
 * Requires `--allow-env` for the variables and `--allow-read` for a file.
 *
 * @param config The platform config.
 * @param store The client config store; unused.
 * @param context The context.
 * @returns The authenticator.
 *
 * @example Calling it directly
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthContext, StaticClientConfigStore } from "@sesame/auth";
 * import createStaticTokenAuthenticator from "@sesame/auth/plugins/static_token";
 *
 * const authenticator = createStaticTokenAuthenticator(
 *   {},
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "flytectl",
 *   }),
 *   createAuthContext({}),
 * );
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export default function createStaticTokenAuthenticator(
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
): StaticTokenAuthenticator {
  return new StaticTokenAuthenticator(config, store, context);
}

function checkOptions(options: StaticTokenOptions): void {
  checkOptionTypes("staticToken()", options, {
    strings: ["variable", "file", "headerKey"],
  });
}

function checkToken(text: string, source: string): string {
  const token = text.trim();
  if (token === "") {
    throw new ConfigError(
      `Cannot read the token from ${source}: it is empty; put the token in it`,
    );
  }
  if (/\s/.test(token)) {
    throw new ConfigError(
      `Cannot read the token from ${source}: it holds more than one word; put the bare token in it, without "Bearer"`,
    );
  }
  return token;
}
