/**
 * Discovery of auth plugins from the `auth.plugins` map of the
 * application's `deno.json` or `deno.jsonc`.
 *
 * @module
 */

import type { ParseError } from "jsonc-parser";
import { parentPath, pathToUrl, resolvePath, urlToPath } from "../_path.ts";
import {
  ConfigError,
  PluginContractError,
  PluginLoadError,
} from "../errors.ts";
import type { AuthenticatorPlugin } from "./plugin.ts";

const CONFIG_NAMES = ["deno.json", "deno.jsonc"] as const;
const PASSED_SCHEMES = new Set(["jsr:", "npm:", "https:", "http:", "file:"]);

/** The `auth.plugins` of one config file, read and checked. */
export interface PluginConfigFile {
  /** The file's path. */
  path: string;
  /** The file's URL, that relative specifiers resolve against. */
  url: URL;
  /** Mode names, lower-case, to the specifiers written in the file. */
  plugins: ReadonlyMap<string, string>;
  /** The file's `imports` map, for bare specifiers. */
  imports: Readonly<Record<string, string>>;
}

/**
 * Finds the config file to read: the given one, else the first `deno.json`
 * or `deno.jsonc` walking up from `cwd`.
 *
 * @param configFile A path or `file:` URL, or `undefined` to search.
 * @param cwd Where the search starts.
 * @returns The path, or `undefined` when none is found.
 */
export function findConfigFile(
  configFile: string | URL | undefined,
  cwd: string,
): string | undefined {
  if (configFile !== undefined) return toPath(configFile, cwd);
  for (let dir = resolvePath(cwd);; dir = parentPath(dir)) {
    for (const name of CONFIG_NAMES) {
      const candidate = resolvePath(dir, name);
      if (isFile(candidate)) return candidate;
    }
    if (parentPath(dir) === dir) return undefined;
  }
}

function toPath(configFile: string | URL, cwd: string): string {
  if (configFile instanceof URL || /^file:/i.test(configFile)) {
    const url = new URL(configFile);
    if (url.protocol !== "file:") {
      throw new ConfigError(
        `Cannot read the auth plugin config "${url.href}": only local files are supported; pass a path or a file: URL`,
      );
    }
    return urlToPath(url);
  }
  return resolvePath(cwd, configFile);
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    if (error instanceof Deno.errors.NotCapable) {
      throw new ConfigError(
        `Cannot look for deno.json at "${path}": read permission denied; run Deno with --allow-read, or pass configFile: false`,
        { cause: error },
      );
    }
    return false;
  }
}

const parsed = new Map<string, { mtime: number; file: PluginConfigFile }>();

/**
 * Reads and checks the `auth.plugins` and `imports` of a config file. The
 * result is kept until the file's modification time changes.
 *
 * @param path The file's path.
 * @returns The checked plugin map.
 * @throws {ConfigError} When the file cannot be read or is malformed.
 */
export async function readPluginConfig(
  path: string,
): Promise<PluginConfigFile> {
  const mtime = statTime(path);
  const cached = parsed.get(path);
  if (cached && cached.mtime === mtime) return cached.file;

  // Loaded only for discovery: built-in and registered names never pay its
  // start-up cost.
  const jsonc = await import("jsonc-parser");
  const file = parsePluginConfig(path, readText(path), jsonc);
  parsed.set(path, { mtime, file });
  return file;
}

function statTime(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? NaN;
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

function unreadable(path: string, cause: unknown): ConfigError {
  const reason = cause instanceof Deno.errors.NotFound
    ? "the file does not exist"
    : cause instanceof Deno.errors.NotCapable
    ? "read permission denied; run Deno with --allow-read"
    : (cause as Error).message;
  return new ConfigError(
    `Cannot read auth plugins from "${path}": ${reason}`,
    { cause },
  );
}

/**
 * Parses the text of a config file.
 *
 * @param path The file's path, for messages and relative specifiers.
 * @param text The file's text, JSON with comments allowed.
 * @param jsonc The JSONC parser.
 * @returns The checked plugin map.
 */
export function parsePluginConfig(
  path: string,
  text: string,
  jsonc: typeof import("jsonc-parser"),
): PluginConfigFile {
  const errors: ParseError[] = [];
  const root: unknown = jsonc.parse(text, errors, {
    allowTrailingComma: true,
  });
  if (errors.length > 0) {
    const { error, offset } = errors[0]!;
    const line = text.slice(0, offset).split("\n").length;
    throw new ConfigError(
      `Cannot parse "${path}" at line ${line}: ${
        jsonc.printParseErrorCode(error)
      }; fix the JSON`,
    );
  }
  const top = expectObject(root, path, "the top level");
  const auth = top.auth === undefined
    ? {}
    : expectObject(top.auth, path, `"auth"`);
  const pluginEntries = auth.plugins === undefined
    ? {}
    : expectObject(auth.plugins, path, `"auth.plugins"`);
  return {
    path,
    url: pathToUrl(path),
    plugins: readPluginMap(pluginEntries, path),
    imports: readImports(top.imports, path),
  };
}

function readPluginMap(
  entries: Record<string, unknown>,
  path: string,
): Map<string, string> {
  const plugins = new Map<string, string>();
  for (const [name, specifier] of Object.entries(entries)) {
    const key = `"auth.plugins.${name}"`;
    if (typeof specifier !== "string" || specifier.trim() === "") {
      throw new ConfigError(
        `Cannot use ${key} in "${path}": expected a module specifier string, got ${
          describe(specifier)
        }; write a path, a bare name from "imports", or a jsr:, npm: or https: specifier`,
      );
    }
    const lower = name.toLowerCase();
    if (name.trim() === "" || plugins.has(lower)) {
      throw new ConfigError(
        `Cannot use ${key} in "${path}": ${
          name.trim() === ""
            ? "the name is empty"
            : "another entry has the same name in another case"
        }; mode names compare case-insensitively, so keep one`,
      );
    }
    plugins.set(lower, specifier);
  }
  return plugins;
}

function readImports(value: unknown, path: string): Record<string, string> {
  if (value === undefined) return {};
  const imports = expectObject(value, path, `"imports"`);
  for (const [key, target] of Object.entries(imports)) {
    if (typeof target !== "string") {
      throw new ConfigError(
        `Cannot use "imports.${key}" in "${path}": expected a specifier string, got ${
          describe(target)
        }`,
      );
    }
  }
  return imports as Record<string, string>;
}

function expectObject(
  value: unknown,
  path: string,
  what: string,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      `Cannot read auth plugins from "${path}": ${what} must be an object, got ${
        describe(value)
      }`,
    );
  }
  return value as Record<string, unknown>;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `"${value}"` : typeof value;
}

/**
 * Resolves a plugin specifier against its config file: relative ones
 * against the file's URL, bare ones through its `imports`, and `jsr:`,
 * `npm:`, `https:`, `http:` and `file:` ones as they are.
 *
 * @param mode The mode name, for messages.
 * @param specifier The specifier written in `auth.plugins`.
 * @param file The config file.
 * @returns The URL or specifier to import.
 * @throws {PluginLoadError} When a bare specifier has no `imports` entry.
 */
export function resolvePluginSpecifier(
  mode: string,
  specifier: string,
  file: PluginConfigFile,
): string {
  const direct = resolveAgainst(specifier, file.url);
  if (direct !== undefined) return direct;

  const mapped = mapBare(specifier, file.imports);
  const target = mapped === undefined
    ? undefined
    : resolveAgainst(mapped, file.url);
  if (target === undefined) {
    throw new PluginLoadError(
      mode,
      `Cannot load auth plugin "${mode}" from "${specifier}": it is a bare specifier with no entry in "imports" of "${file.path}"; add an "imports" entry for it or write a relative path`,
    );
  }
  return target;
}

function resolveAgainst(specifier: string, base: URL): string | undefined {
  if (/^\.{0,2}\//.test(specifier)) return new URL(specifier, base).href;
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(specifier)?.[1]?.toLowerCase();
  if (scheme !== undefined && PASSED_SCHEMES.has(scheme)) return specifier;
  return undefined;
}

function mapBare(
  specifier: string,
  imports: Readonly<Record<string, string>>,
): string | undefined {
  const exact = imports[specifier];
  if (exact !== undefined) return exact;
  let best: string | undefined;
  for (const key of Object.keys(imports)) {
    if (
      key.endsWith("/") && specifier.startsWith(key) &&
      key.length > (best?.length ?? 0)
    ) best = key;
  }
  return best === undefined
    ? undefined
    : imports[best] + specifier.slice(best.length);
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

/**
 * Imports a plugin module once per resolved URL and picks its plugin: the
 * default export, else `createAuthenticator`.
 *
 * @param mode The mode name, for messages.
 * @param specifier The specifier as written, for messages.
 * @param url The resolved URL to import.
 * @param file The config file, for messages.
 * @returns The plugin.
 * @throws {PluginLoadError} When the module cannot be imported.
 * @throws {PluginContractError} When it exports no function to use.
 */
export async function importPlugin(
  mode: string,
  specifier: string,
  url: string,
  file: string,
): Promise<AuthenticatorPlugin> {
  let loading = modules.get(url);
  if (loading === undefined) {
    // The URL is resolved against the application's deno.json above, never
    // through sesame's own import map, so `deno publish` cannot (and need
    // not) analyze it.
    loading = import(url);
    modules.set(url, loading);
  }
  let module: Record<string, unknown>;
  try {
    module = await loading;
  } catch (cause) {
    if (modules.get(url) === loading) modules.delete(url);
    throw loadError(mode, specifier, url, file, cause);
  }
  return pickPlugin(mode, url, module);
}

function pickPlugin(
  mode: string,
  url: string,
  module: Record<string, unknown>,
): AuthenticatorPlugin {
  const plugin = typeof module.default === "function"
    ? module.default
    : module.createAuthenticator;
  if (typeof plugin !== "function") {
    throw new PluginContractError(
      mode,
      `Cannot use auth plugin "${mode}" from "${url}": the module has no default export or "createAuthenticator" export that is a function; export a factory or a class`,
    );
  }
  return plugin as AuthenticatorPlugin;
}

function loadError(
  mode: string,
  specifier: string,
  url: string,
  file: string,
  cause: unknown,
): PluginLoadError {
  const where = specifier === url
    ? `"${specifier}"`
    : `"${specifier}" (${url})`;
  return new PluginLoadError(
    mode,
    `Cannot load auth plugin "${mode}" from ${where}: ${
      describeImportFailure(cause)
    }; check "auth.plugins" in "${file}"`,
    { cause },
  );
}

function describeImportFailure(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  const flag = /--allow-[a-z]+/.exec(message)?.[0];
  if (cause instanceof Deno.errors.NotCapable || flag !== undefined) {
    return `permission denied; run Deno with ${flag ?? "--allow-import"}`;
  }
  if (/Module not found|Cannot find module|not found/i.test(message)) {
    return "module not found";
  }
  if (cause instanceof SyntaxError || /parse|syntax/i.test(message)) {
    return `the module does not parse (${firstLine(message)})`;
  }
  return `the module failed to load (${firstLine(message)})`;
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.slice(0, 300);
}
