/**
 * The resolver: turns an auth mode name into an authenticator, looking in
 * the built-in modes, then the registry, then `auth.plugins` of `deno.json`,
 * in that order and no other.
 *
 * @module
 */

import type { Authenticator } from "../authenticator.ts";
import type { ClientConfigStore } from "../client_config.ts";
import {
  type AuthContext,
  type AuthModeSource,
  createAuthContext,
} from "../context.ts";
import {
  PluginContractError,
  PluginInitError,
  UnknownAuthModeError,
} from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import { BUILTIN_AUTH_MODES } from "./builtin_modes.ts";
import type { PluginConfigFile } from "./discovery.ts";
import type {
  AuthenticatorClass,
  AuthenticatorFactory,
  AuthenticatorPlugin,
} from "./plugin.ts";
import { type AuthenticatorRegistry, registry } from "./registry.ts";
import { once } from "../_once.ts";

// Discovery, with its JSONC parser, is loaded only when a mode is neither
// built in nor registered, or when the modes are listed; then kept.
const loadDiscovery = once(() => import("./discovery.ts"));

/** The mode used when the config names none. */
export const DEFAULT_AUTH_MODE = "standard";

/** Options of {@linkcode getAuthenticator} and the other resolver calls. */
export interface ResolveOptions {
  /**
   * The registry to look in.
   *
   * @default {registry}
   */
  registry?: AuthenticatorRegistry;
  /**
   * The `deno.json` or `deno.jsonc` whose `auth.plugins` to read, as a path
   * or `file:` URL, or `false` to turn discovery off. By default, the first
   * one found walking up from the working directory.
   */
  configFile?: string | URL | false;
  /** Parts of the context to use instead of the defaults. */
  context?: Partial<AuthContext>;
}

/** Where {@linkcode resolveAuthMode} found a mode. */
export type AuthModeResolution =
  | {
    /** The mode name, lower-case. */
    mode: string;
    /** Found among the built-in modes. */
    source: "builtin";
    /** The class it constructs. */
    authenticator: string;
  }
  | {
    /** The mode name, lower-case. */
    mode: string;
    /** Found in the registry. */
    source: "registry";
    /** The registered plugin's name, or `"anonymous"`. */
    authenticator: string;
  }
  | {
    /** The mode name, lower-case. */
    mode: string;
    /** Found in `auth.plugins`. */
    source: "config";
    /** The config file that names it. */
    configFile: string;
    /** The specifier as written. */
    specifier: string;
    /** The URL or specifier that is imported. */
    url: string;
  };

/** One mode name that {@linkcode listAuthModes} can see. */
export interface AuthModeListing {
  /** The mode name, lower-case. */
  mode: string;
  /** Where it is defined. */
  source: AuthModeSource;
  /** The class, the plugin's name, or the specifier as written. */
  target: string;
  /** For `auth.plugins` entries: the config file. */
  configFile?: string;
  /** For `auth.plugins` entries: the URL that is imported. */
  url?: string;
  /** Why the entry can never be used, when an earlier source has the name. */
  shadowedBy?: AuthModeSource;
  /** For `auth.plugins` entries whose specifier does not resolve: why. */
  error?: string;
}

/**
 * Makes the authenticator for `config.authMode`.
 *
 * Built-in names never read `deno.json` or import anything; other names are
 * looked up in the registry, then in `auth.plugins`. What a plugin makes is
 * checked against the {@linkcode Authenticator} contract.
 *
 * Requires `--allow-read` to discover plugins in `deno.json`, and whatever
 * the mode itself needs (`--allow-net`, `--allow-run`, ...).
 *
 * @param config The platform config.
 * @param store Where the client config comes from.
 * @param options Another registry or config file, and context overrides.
 * @returns The authenticator.
 * @throws {UnknownAuthModeError} When no source has the mode.
 * @throws {PluginLoadError} When a discovered module cannot be imported.
 * @throws {PluginContractError} When a plugin makes no authenticator.
 * @throws {PluginInitError} When a plugin throws.
 * @throws {ConfigError} When `deno.json` is malformed.
 *
 * @example Using a registered plugin
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   AuthenticatorRegistry,
 *   getAuthenticator,
 *   StaticClientConfigStore,
 * } from "@sesame/auth";
 *
 * const registry = new AuthenticatorRegistry();
 * registry.register("fixed", () => ({
 *   headerKey: "authorization",
 *   getCredentials: () => Promise.resolve({ accessToken: "t" }),
 *   refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
 * }));
 * const store = new StaticClientConfigStore({
 *   tokenEndpoint: "https://idp.example.com/token",
 *   authorizationEndpoint: "https://idp.example.com/auth",
 *   redirectUri: "http://localhost:53593/callback",
 *   clientId: "flytectl",
 * });
 * const authenticator = await getAuthenticator({ authMode: "Fixed" }, store, {
 *   registry,
 *   configFile: false,
 * });
 * assert.ok((await authenticator.getCredentials()).accessToken === "t");
 * ```
 */
export async function getAuthenticator(
  config: PlatformConfig,
  store: ClientConfigStore,
  options: ResolveOptions = {},
): Promise<Authenticator> {
  checkArguments(config, store);
  const mode = modeOf(config);
  const builtin = BUILTIN_AUTH_MODES.get(mode);
  const context = createAuthContext(config, options.context);
  if (builtin !== undefined) {
    context.onEvent({ type: "mode_resolved", mode, source: "builtin" });
    return new builtin(config, store, context);
  }

  const found = await findPlugin(mode, options);
  context.onEvent(
    found.resolution.source === "config"
      ? {
        type: "mode_resolved",
        mode,
        source: "config",
        configFile: found.resolution.configFile,
        url: found.resolution.url,
      }
      : { type: "mode_resolved", mode, source: "registry" },
  );
  const made = await construct(mode, found.plugin, config, store, context);
  return checkAuthenticator(mode, made);
}

/**
 * Finds where a mode name is defined, without importing or constructing
 * anything.
 *
 * Requires `--allow-read` when the name is neither built in nor registered.
 *
 * @param mode The mode name, in any case.
 * @param options Another registry or config file.
 * @returns Where the mode was found.
 * @throws {UnknownAuthModeError} When no source has it.
 *
 * @example Finding where a mode comes from
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveAuthMode } from "@sesame/auth";
 *
 * const found = await resolveAuthMode("ClientSecret");
 * assert.ok(found.source === "builtin");
 * ```
 */
export async function resolveAuthMode(
  mode: string,
  options: Omit<ResolveOptions, "context"> = {},
): Promise<AuthModeResolution> {
  const name = checkModeName(mode);
  const builtin = BUILTIN_AUTH_MODES.get(name);
  if (builtin !== undefined) {
    return { mode: name, source: "builtin", authenticator: builtin.name };
  }
  const registered = (options.registry ?? registry).get(name);
  if (registered !== undefined) {
    const authenticator = registered.name || "anonymous";
    return { mode: name, source: "registry", authenticator };
  }
  return await discover(name, options);
}

/**
 * Lists every mode name the resolver can see: built-in, registered, and in
 * `auth.plugins`, with where each comes from.
 *
 * Requires `--allow-read` to read `deno.json`.
 *
 * @param options Another registry or config file.
 * @returns The modes, built-in first, then registered, then discovered.
 * @throws {ConfigError} When `deno.json` is malformed.
 *
 * @example Listing the modes without discovery
 * ```ts
 * import assert from "node:assert/strict";
 * import { listAuthModes } from "@sesame/auth";
 *
 * const modes = await listAuthModes({ configFile: false });
 * assert.ok(modes.some((m) => m.mode === "deviceflow"));
 * ```
 */
export async function listAuthModes(
  options: Omit<ResolveOptions, "context"> = {},
): Promise<AuthModeListing[]> {
  const plugins = options.registry ?? registry;
  const listing: AuthModeListing[] = [];
  for (const [mode, authenticator] of BUILTIN_AUTH_MODES) {
    listing.push({ mode, source: "builtin", target: authenticator.name });
  }
  for (const mode of plugins.names()) {
    const target = plugins.get(mode)?.name || "anonymous";
    listing.push({ mode, source: "registry", target });
  }
  const file = await configFileOf(options);
  if (file !== undefined) {
    const { resolvePluginSpecifier } = await loadDiscovery();
    for (const [mode, specifier] of file.plugins) {
      const entry = listDiscovered(mode, specifier, file, plugins);
      try {
        entry.url = resolvePluginSpecifier(mode, specifier, file);
      } catch (error) {
        entry.error = (error as Error).message;
      }
      listing.push(entry);
    }
  }
  return listing;
}

function listDiscovered(
  mode: string,
  specifier: string,
  file: PluginConfigFile,
  plugins: AuthenticatorRegistry,
): AuthModeListing {
  const entry: AuthModeListing = {
    mode,
    source: "config",
    target: specifier,
    configFile: file.path,
  };
  if (BUILTIN_AUTH_MODES.has(mode)) entry.shadowedBy = "builtin";
  else if (plugins.has(mode)) entry.shadowedBy = "registry";
  return entry;
}

interface FoundPlugin {
  resolution: AuthModeResolution;
  plugin: AuthenticatorPlugin;
}

async function findPlugin(
  mode: string,
  options: ResolveOptions,
): Promise<FoundPlugin> {
  const registered = (options.registry ?? registry).get(mode);
  if (registered !== undefined) {
    const authenticator = registered.name || "anonymous";
    return {
      resolution: { mode, source: "registry", authenticator },
      plugin: registered,
    };
  }
  const resolution = await discover(mode, options);
  const { importPlugin } = await loadDiscovery();
  const plugin = await importPlugin(
    mode,
    resolution.specifier,
    resolution.url,
    resolution.configFile,
  );
  return { resolution, plugin };
}

async function discover(
  mode: string,
  options: Omit<ResolveOptions, "context">,
): Promise<Extract<AuthModeResolution, { source: "config" }>> {
  const file = await configFileOf(options);
  const specifier = file?.plugins.get(mode);
  if (file === undefined || specifier === undefined) {
    throw unknownMode(mode, options.registry ?? registry, file, options);
  }
  const { resolvePluginSpecifier } = await loadDiscovery();
  const url = resolvePluginSpecifier(mode, specifier, file);
  return { mode, source: "config", configFile: file.path, specifier, url };
}

async function configFileOf(
  options: Omit<ResolveOptions, "context">,
): Promise<PluginConfigFile | undefined> {
  if (options.configFile === false) return undefined;
  const { findConfigFile, readPluginConfig } = await loadDiscovery();
  const path = findConfigFile(options.configFile, Deno.cwd());
  return path === undefined ? undefined : await readPluginConfig(path);
}

function unknownMode(
  mode: string,
  plugins: AuthenticatorRegistry,
  file: PluginConfigFile | undefined,
  options: Omit<ResolveOptions, "context">,
): UnknownAuthModeError {
  const registered = plugins.names();
  const discovered = file === undefined
    ? options.configFile === false
      ? "discovery is off (configFile: false)"
      : "no deno.json or deno.jsonc was found from the working directory up"
    : `auth.plugins in "${file.path}" has ${listOf([...file.plugins.keys()])}`;
  return new UnknownAuthModeError(
    mode,
    `Unknown auth mode "${mode}": built-in modes are ${
      listOf([...BUILTIN_AUTH_MODES.keys()])
    }; registered plugins are ${listOf(registered)}; ${discovered}; ` +
      `register one with registerAuthenticatorPlugin("${mode}", factory) or add "${mode}" to "auth.plugins" in deno.json`,
  );
}

function listOf(names: string[]): string {
  return names.length === 0 ? "none" : names.map((n) => `"${n}"`).join(", ");
}

function modeOf(config: PlatformConfig): string {
  const mode = config.authMode;
  if (mode === undefined || mode === "") return DEFAULT_AUTH_MODE;
  return checkModeName(mode);
}

function checkModeName(mode: unknown): string {
  if (typeof mode !== "string") {
    throw new TypeError(
      `Cannot resolve auth mode ${typeof mode}: the mode name must be a string`,
    );
  }
  return mode.toLowerCase();
}

function checkArguments(config: unknown, store: unknown): void {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(
      "Cannot make an authenticator: config must be a PlatformConfig object",
    );
  }
  const getter = (store as ClientConfigStore | null)?.getClientConfig;
  if (typeof getter !== "function") {
    throw new TypeError(
      "Cannot make an authenticator: store must be a ClientConfigStore with getClientConfig()",
    );
  }
}

const classes = new WeakMap<AuthenticatorPlugin, boolean>();

/** Class syntax cannot be called without `new`; tell the two apart once. */
function isClass(plugin: AuthenticatorPlugin): plugin is AuthenticatorClass {
  let known = classes.get(plugin);
  if (known === undefined) {
    known = /^class[\s{]/.test(Function.prototype.toString.call(plugin));
    classes.set(plugin, known);
  }
  return known;
}

async function construct(
  mode: string,
  plugin: AuthenticatorPlugin,
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
): Promise<unknown> {
  try {
    return isClass(plugin)
      ? new plugin(config, store, context)
      : await (plugin as AuthenticatorFactory)(config, store, context);
  } catch (error) {
    throw new PluginInitError(mode, error);
  }
}

/**
 * Checks that a plugin made an authenticator: an object with a string
 * `headerKey` and `getCredentials` and `refreshCredentials` functions.
 */
function checkAuthenticator(mode: string, made: unknown): Authenticator {
  if (typeof made !== "object" || made === null) {
    throw new PluginContractError(
      mode,
      `Auth plugin "${mode}" returned ${
        made === null ? "null" : typeof made
      } instead of an authenticator; return an object with headerKey, getCredentials and refreshCredentials, or a CachingAuthenticator`,
    );
  }
  const candidate = made as Record<string, unknown>;
  const missing = [
    typeof candidate.headerKey === "string" ? "" : "headerKey (string)",
    typeof candidate.getCredentials === "function"
      ? ""
      : "getCredentials (function)",
    typeof candidate.refreshCredentials === "function"
      ? ""
      : "refreshCredentials (function)",
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new PluginContractError(
      mode,
      `Auth plugin "${mode}" returned an authenticator without ${
        missing.join(", ")
      }; add them, or extend CachingAuthenticator`,
    );
  }
  return made as Authenticator;
}
