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
