/**
 * Where plugins read their settings from: environment variables, given or
 * the process's, and files. Internal to the plugins.
 *
 * @module
 */

import { ConfigError } from "../mod.ts";

/** Environment variables given in code instead of the process's. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads one environment variable; empty counts as unset. */
export type EnvReader = (name: string) => string | undefined;

/**
 * Returns a reader of environment variables: from `env` when given, else
 * from the process, with a missing permission as a {@linkcode ConfigError}.
 *
 * @param env Variables to read instead of the process's.
 * @returns The reader.
 */
export function envReader(env?: Env): EnvReader {
  if (env !== undefined) {
    return function readGivenEnv(name) {
      return nonEmpty(env[name]);
    };
  }
  return function readProcessEnv(name) {
    try {
      return nonEmpty(Deno.env.get(name));
    } catch (cause) {
      if (!(cause instanceof Deno.errors.NotCapable)) throw cause;
      throw new ConfigError(
        `Cannot read environment variable "${name}": permission denied; run Deno with --allow-env, or pass the setting as an option`,
        { cause },
      );
    }
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * Reads a yes/no setting: `1`, `true`, `yes` or `0`, `false`, `no`.
 *
 * @param readEnv The environment reader.
 * @param name The variable's name.
 * @returns The value, or `undefined` when unset.
 * @throws {ConfigError} When the value is something else.
 */
export function readFlag(
  readEnv: EnvReader,
  name: string,
): boolean | undefined {
  const value = readEnv(name)?.trim().toLowerCase();
  if (value === undefined) return undefined;
  if (["1", "true", "yes"].includes(value)) return true;
  if (["0", "false", "no"].includes(value)) return false;
  throw new ConfigError(
    `Cannot read environment variable "${name}": "${value}" is not a yes or no; set it to "true" or "false"`,
  );
}

/**
 * Reads a text file that holds a setting or a secret. The file's content
 * never appears in an error.
 *
 * @param path The file's path.
 * @param what What the file is, for messages: "the token file".
 * @param hint What to do when it cannot be read.
 * @returns The text.
 * @throws {ConfigError} When the file is missing, unreadable or a folder.
 */
export async function readSourceFile(
  path: string,
  what: string,
  hint: string,
): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    throw new ConfigError(
      `Cannot read ${what} "${path}": ${fileProblem(cause)}; ${hint}`,
      { cause },
    );
  }
}

/**
 * Tells whether a file exists, treating one that cannot be checked for lack
 * of permission as missing.
 *
 * @param path The file's path.
 * @returns `true` when it is a file.
 */
export async function isReadableFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

function fileProblem(cause: unknown): string {
  if (cause instanceof Deno.errors.NotFound) return "no such file";
  if (cause instanceof Deno.errors.NotCapable) {
    return "read permission denied; run Deno with --allow-read for it";
  }
  if (cause instanceof Deno.errors.IsADirectory) return "it is a folder";
  if (cause instanceof Deno.errors.PermissionDenied) {
    return "the system denied access";
  }
  return cause instanceof Error ? cause.message : String(cause);
}

/** The option names of each type a plugin's options object may hold. */
export interface OptionTypes {
  /** Options that must be non-empty strings. */
  strings?: readonly string[];
  /** Options that must be booleans. */
  booleans?: readonly string[];
  /** Options that must be positive numbers. */
  positiveNumbers?: readonly string[];
}

/**
 * Checks a plugin's options object, throwing a `TypeError` that names the
 * caller and the option.
 *
 * @param caller The function the options were given to, such as
 * `"staticToken()"`.
 * @param options The options object.
 * @param types Which options must be of which type; absent ones are fine.
 */
export function checkOptionTypes(
  caller: string,
  options: unknown,
  types: OptionTypes,
): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${caller} needs an options object`);
  }
  const values = options as Record<string, unknown>;
  const checks: [
    readonly string[] | undefined,
    string,
    (v: unknown) => boolean,
  ][] = [
    [types.strings, "a string", (v) => typeof v === "string" && v !== ""],
    [types.booleans, "a boolean", (v) => typeof v === "boolean"],
    [
      types.positiveNumbers,
      "a positive number",
      (v) => typeof v === "number" && v > 0,
    ],
  ];
  for (const [names, what, valid] of checks) {
    for (const name of names ?? []) {
      const value = values[name];
      if (value !== undefined && !valid(value)) {
        throw new TypeError(`${caller} needs "${name}" to be ${what}`);
      }
    }
  }
}
