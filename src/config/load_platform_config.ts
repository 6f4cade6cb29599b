/**
 * Loads the platform config from the same files and environment variables,
 * in the same order, as flytekit's `PlatformConfig.auto()`.
 *
 * @module
 */

import type { PlatformConfig } from "../platform_config.ts";

/** Options of {@linkcode loadPlatformConfig}. */
export interface LoadPlatformConfigOptions {
  /**
   * The config file to read, relative to `cwd`; no other file is looked
   * for. A name ending in `yaml` or `yml` is read as YAML, any other as INI.
   */
  path?: string;
  /**
   * Environment variables to read instead of the process's own. An empty
   * value counts as unset.
   */
  env?: Record<string, string | undefined>;
  /**
   * The home directory holding `.flyte/config` and `.flyte/config.yaml`.
   *
   * @default {the `HOME` variable, else `USERPROFILE`}
   */
  home?: string;
  /**
   * The directory `./flytekit.config` and relative paths resolve against.
   *
   * @default {Deno.cwd()}
   */
  cwd?: string;
}

/** A setting {@linkcode loadPlatformConfig} reads. */
export type PlatformConfigSetting =
  | keyof PlatformConfig
  | "clientSecretLocation"
  | "clientSecretEnvVar";

/**
 * Where one setting came from. `secret` is `true` for the client secret:
 * show where it came from, never its value.
 */
export type PlatformConfigSource =
  | {
    /** A key of the config file. */
    kind: "file";
    /** The file's absolute path. */
    path: string;
    /** The key: `admin.endpoint` in YAML, `platform.url` in INI. */
    key: string;
    /** The 1-based line of the key. */
    line: number;
    /** Whether the value is a secret. */
    secret: boolean;
  }
  | {
    /** An environment variable. */
    kind: "env";
    /** The variable's name. */
    name: string;
    /** The setting that named the variable (`clientSecretEnvVar`). */
    namedBy?: PlatformConfigSource;
    /** Whether the value is a secret. */
    secret: boolean;
  }
  | {
    /** A file holding the client secret. */
    kind: "secret_file";
    /** The file's absolute path. */
    path: string;
    /** The setting that named the file (`clientSecretLocation`). */
    namedBy: PlatformConfigSource;
    /** Always `true`. */
    secret: true;
  }
  | {
    /** Set by the loader: `authMode` becomes `"ClientSecret"`. */
    kind: "derived";
    /** The setting that caused it. */
    from: "clientCredentialsSecret";
    /** Always `false`. */
    secret: false;
  };

/** How the config file was chosen, and where each setting came from. */
export interface PlatformConfigSources {
  /** The config file read, if any. */
  file?: {
    /** Its absolute path. */
    path: string;
    /** How it was read. */
    format: "ini" | "yaml";
    /** Why it was chosen. */
    foundBy: "option" | "FLYTECTL_CONFIG" | "cwd" | "home";
  };
  /** Every file looked for, in order, up to the one read. */
  searched: string[];
  /** The source of each setting that has a value. */
  settings: { [K in PlatformConfigSetting]?: PlatformConfigSource };
}

/** What {@linkcode loadPlatformConfigWithSources} returns. */
export interface LoadedPlatformConfig {
  /** The platform config. */
  config: PlatformConfig;
  /** The file named by `clientSecretLocation`, even if it was empty. */
  clientSecretLocation?: string;
  /** The variable named by `clientSecretEnvVar`, even if it was unset. */
  clientSecretEnvVar?: string;
  /** Where everything came from. */
  sources: PlatformConfigSources;
}

/**
 * Loads the platform config as `pyflyte` and `flytectl` do: each setting
 * from its `FLYTE_{SECTION}_{OPTION}` environment variable, else from the
 * config file.
 *
 * The file is `options.path`, else the one named by `FLYTECTL_CONFIG` (when
 * it exists), else the first of `./flytekit.config`, `~/.flyte/config` (both
 * INI, sections `[platform]` and `[credentials]`) and `~/.flyte/config.yaml`
 * (flytectl's YAML, keys under `admin:` and `console:`). `dns:///` is
 * stripped from the endpoint; lists are comma-separated in INI and in the
 * environment.
 *
 * The client secret is, from highest to lowest, the variable named by
 * `clientSecretEnvVar`, the trimmed contents of the file named by
 * `clientSecretLocation`, the literal `client_secret`. As in flytekit, a
 * secret from a named variable or a file sets `authMode` to
 * `"ClientSecret"`, even over an `authType` that says otherwise.
 *
 * > [!NOTE]
 * > INI values are read as written: `%` interpolation is not supported.
 *
 * Requires `--allow-read` for the config and secret files and
 * `--allow-env` (unless `options.env` is given).
 *
 * @param options The file, environment, home and working directory to use.
 * @returns The platform config; settings found nowhere are absent.
 * @throws {ConfigError} When a file is malformed, a value has the wrong
 * type, or the secret file cannot be read; the message names the file, key
 * and line, or the variable, and never holds a secret.
 *
 * @example Reading a flytectl config.yaml
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPlatformConfig } from "@sesame/auth";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/config.yaml`;
 * await Deno.writeTextFile(
 *   path,
 *   "admin:\n  endpoint: dns:///flyte.example.com\n  authType: Pkce\n",
 * );
 * const config = await loadPlatformConfig({
 *   path,
 *   env: { FLYTE_PLATFORM_INSECURE: "true" },
 * });
 * await Deno.remove(dir, { recursive: true });
 * assert.ok(config.endpoint === "flyte.example.com");
 * assert.ok(config.insecure === true);
 * ```
 */
export async function loadPlatformConfig(
  options: LoadPlatformConfigOptions = {},
): Promise<PlatformConfig> {
  return (await loadPlatformConfigWithSources(options)).config;
}

/**
 * Loads the platform config like {@linkcode loadPlatformConfig}, and tells
 * where each setting came from: a file key and line, or a variable. The
 * client secret's source is marked `secret`, so that it can be masked.
 *
 * Requires `--allow-read` for the config and secret files and
 * `--allow-env` (unless `options.env` is given).
 *
 * @param options The file, environment, home and working directory to use.
 * @returns The config, the secret's file and variable names, and the
 * sources.
 * @throws {ConfigError} As {@linkcode loadPlatformConfig}.
 *
 * @example Explaining where the endpoint came from
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadPlatformConfigWithSources } from "@sesame/auth";
 *
 * const dir = await Deno.makeTempDir();
 * const { config, sources } = await loadPlatformConfigWithSources({
 *   env: { FLYTE_PLATFORM_URL: "dns:///flyte.example.com" },
 *   home: dir,
 *   cwd: dir,
 * });
 * await Deno.remove(dir);
 * assert.ok(config.endpoint === "flyte.example.com");
 * assert.ok(sources.settings.endpoint?.kind === "env");
 * ```
 */
export async function loadPlatformConfigWithSources(
  options: LoadPlatformConfigOptions = {},
): Promise<LoadedPlatformConfig> {
  checkOptions(options);
  // Lazy: reading and parsing the files is only needed when a config is
  // loaded, so it is not compiled at start-up.
  const { readPlatformConfig } = await import("./_platform_config_reader.ts");
  return await readPlatformConfig(options);
}

function checkOptions(options: LoadPlatformConfigOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("loadPlatformConfig() options must be an object");
  }
  for (const key of ["path", "home", "cwd"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "string") {
      throw new TypeError(
        `loadPlatformConfig() options.${key} must be a string`,
      );
    }
  }
  if (
    options.env !== undefined &&
    (typeof options.env !== "object" || options.env === null)
  ) {
    throw new TypeError("loadPlatformConfig() options.env must be an object");
  }
}
