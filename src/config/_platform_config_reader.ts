/**
 * Reads, parses and merges the platform config for
 * `loadPlatformConfigWithSources()`: the INI and YAML files, the
 * `FLYTE_*` variables, their precedence and the client secret sources.
 *
 * Loaded lazily by `load_platform_config.ts`, so that this code and the INI
 * parser are compiled only when a config is loaded.
 *
 * @module
 */

import type { Document } from "yaml";
import { resolvePath } from "../_path.ts";
import { ConfigError } from "../errors.ts";
import { type IniFile, parseIni } from "./_ini.ts";
import type { PlatformConfig } from "../platform_config.ts";
import type {
  LoadedPlatformConfig,
  LoadPlatformConfigOptions,
  PlatformConfigSetting,
  PlatformConfigSource,
  PlatformConfigSources,
} from "./load_platform_config.ts";

type Kind = "string" | "boolean" | "list";
type Value = string | boolean | string[];

interface Setting {
  name: PlatformConfigSetting;
  section: "platform" | "credentials";
  option: string;
  yaml?: string;
  kind: Kind;
  secret?: boolean;
}

interface Found {
  value: Value;
  source: PlatformConfigSource;
}

interface ConfigFile {
  path: string;
  format: "ini" | "yaml";
  read(setting: Setting): Found | undefined;
}

type EnvReader = (name: string) => string | undefined;

function setting(
  name: PlatformConfigSetting,
  section: Setting["section"],
  option: string,
  yaml?: string,
  kind: Kind = "string",
): Setting {
  return { name, section, option, yaml, kind };
}

// flytekit's ConfigEntry table (configuration/internal.py): the INI section
// and option, which also name the FLYTE_{SECTION}_{OPTION} variable, and the
// flytectl YAML key.
const SETTINGS: readonly Setting[] = [
  setting("endpoint", "platform", "url", "admin.endpoint"),
  setting("insecure", "platform", "insecure", "admin.insecure", "boolean"),
  setting(
    "insecureSkipVerify",
    "platform",
    "insecure_skip_verify",
    "admin.insecureSkipVerify",
    "boolean",
  ),
  setting(
    "caCertFilePath",
    "platform",
    "ca_cert_file_path",
    "admin.caCertFilePath",
  ),
  setting("httpProxyUrl", "platform", "http_proxy_url", "admin.httpProxyURL"),
  setting(
    "consoleEndpoint",
    "platform",
    "console_endpoint",
    "console.endpoint",
  ),
  setting("command", "credentials", "command", "admin.command", "list"),
  setting(
    "proxyCommand",
    "credentials",
    "proxy_command",
    "admin.proxyCommand",
    "list",
  ),
  setting("clientId", "credentials", "client_id", "admin.clientId"),
  {
    ...setting("clientCredentialsSecret", "credentials", "client_secret"),
    secret: true,
  },
  setting(
    "clientSecretLocation",
    "credentials",
    "client_secret_location",
    "admin.clientSecretLocation",
  ),
  setting(
    "clientSecretEnvVar",
    "credentials",
    "client_secret_env_var",
    "admin.clientSecretEnvVar",
  ),
  setting("scopes", "credentials", "scopes", "admin.scopes", "list"),
  setting("authMode", "credentials", "auth_mode", "admin.authType"),
  setting("audience", "credentials", "audience", "admin.audience"),
  setting("tokenUrl", "credentials", "token_url", "admin.tokenUrl"),
  setting(
    "authorizationHeader",
    "credentials",
    "authorization_header",
    "admin.authorizationHeader",
  ),
];

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);
const BOOLEAN_FIX = "use true, false, 1, 0, yes, no, on or off";
const CLIENT_SECRET_MODE = "ClientSecret";

/**
 * Reads the platform config and its sources, for
 * `loadPlatformConfigWithSources()`, whose options it expects to
 * have been checked already.
 *
 * @param options The file, environment, home and working directory to use.
 * @returns The config, the secret's file and variable names, and the
 * sources.
 * @throws {ConfigError} When a file is malformed, a value has the wrong
 * type, or a file or variable cannot be read.
 */
export async function readPlatformConfig(
  options: LoadPlatformConfigOptions,
): Promise<LoadedPlatformConfig> {
  const env = envReader(options.env);
  const cwd = options.cwd ?? Deno.cwd();
  const home = options.home ?? env("HOME") ?? env("USERPROFILE");

  const searched: string[] = [];
  const located = await locateFile(options.path, env, cwd, home, searched);
  const file = located && await openConfigFile(located.path, located.format);
  const found = new Map<PlatformConfigSetting, Found>();
  for (const entry of SETTINGS) {
    const value = readEnv(entry, env) ?? file?.read(entry);
    if (value !== undefined) found.set(entry.name, value);
  }

  const loaded = assemble(found);
  loaded.sources.searched = searched;
  if (located) loaded.sources.file = located;
  await applySecretSources(loaded, found, env, cwd);
  return loaded;
}

function envReader(record: LoadPlatformConfigOptions["env"]): EnvReader {
  if (record) {
    return (name) => (Object.hasOwn(record, name) && record[name]) || undefined;
  }
  return (name) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch (cause) {
      throw new ConfigError(
        `Cannot read the environment variable "${name}": permission denied; run Deno with --allow-env, or pass options.env`,
        { cause },
      );
    }
  };
}

// ---------------------------------------------------------------------------
// Finding and reading the file

type Located = NonNullable<PlatformConfigSources["file"]>;

async function locateFile(
  explicit: string | undefined,
  env: EnvReader,
  cwd: string,
  home: string | undefined,
  searched: string[],
): Promise<Located | undefined> {
  if (explicit !== undefined) {
    const path = resolvePath(cwd, explicit);
    searched.push(path);
    return { path, format: formatOf(path), foundBy: "option" };
  }
  // flytekit reads FLYTECTL_CONFIG first, and ignores it when the file is
  // missing.
  const candidates: [string, Located["foundBy"]][] = [];
  const fromEnv = env("FLYTECTL_CONFIG");
  if (fromEnv) candidates.push([resolvePath(cwd, fromEnv), "FLYTECTL_CONFIG"]);
  candidates.push([resolvePath(cwd, "flytekit.config"), "cwd"]);
  if (home) {
    candidates.push([resolvePath(home, ".flyte", "config"), "home"]);
    candidates.push([resolvePath(home, ".flyte", "config.yaml"), "home"]);
  }
  for (const [path, foundBy] of candidates) {
    searched.push(path);
    if (await isFile(path)) return { path, format: formatOf(path), foundBy };
  }
  return undefined;
}

function formatOf(path: string): "ini" | "yaml" {
  return /ya?ml$/.test(path) ? "yaml" : "ini";
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (cause) {
    if (cause instanceof Deno.errors.NotFound) return false;
    throw new ConfigError(
      `Cannot look for the config file "${path}": ${readFailure(cause)}`,
      { cause },
    );
  }
}

async function openConfigFile(
  path: string,
  format: "ini" | "yaml",
): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    throw new ConfigError(
      `Cannot read the config file "${path}": ${readFailure(cause)}`,
      { cause },
    );
  }
  if (format === "ini") return openIni(path, text);
  // Loaded only for YAML files: the parser costs tens of milliseconds of
  // start-up that INI and environment-only users should not pay.
  return openYaml(path, text, await import("yaml"));
}

function readFailure(cause: unknown): string {
  if (cause instanceof Deno.errors.NotFound) {
    return "it does not exist; fix the path";
  }
  if (cause instanceof Deno.errors.NotCapable) {
    return "permission denied; run Deno with --allow-read";
  }
  if (cause instanceof Deno.errors.PermissionDenied) {
    return "permission denied; make the file readable";
  }
  if (cause instanceof Deno.errors.IsADirectory) {
    return "it is a directory; name a file";
  }
  return `${(cause as Error)?.name ?? "error"}; check the file`;
}

function openIni(path: string, text: string): ConfigFile {
  const ini: IniFile = parseIni(text, path);
  return {
    path,
    format: "ini",
    read(entry) {
      const found = ini.get(entry.section, entry.option);
      if (found === undefined) return undefined;
      const source: PlatformConfigSource = {
        kind: "file",
        path,
        key: `${entry.section}.${entry.option}`,
        line: found.line,
        secret: entry.secret === true,
      };
      const value = fromText(found.value, entry, source);
      return value === undefined ? undefined : { value, source };
    },
  };
}

function openYaml(path: string, text: string, yaml: YamlModule): ConfigFile {
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(text, { lineCounter, prettyErrors: false });
  const lineAt = (offset = 0) => Math.max(1, lineCounter.linePos(offset).line);
  const error = doc.errors[0];
  if (error) {
    // The parser's own message may quote the text, which may hold a secret.
    const what = error.code.toLowerCase().replaceAll("_", " ");
    const { col } = lineCounter.linePos(error.pos[0]);
    throw new ConfigError(
      `Cannot parse the config file "${path}" at line ${
        lineAt(error.pos[0])
      }, column ${col}: invalid YAML (${what}); fix the YAML syntax`,
    );
  }
  const data = yamlData(doc, path);
  const lineOf = (keys: string[]) => lineAt(keyOffset(yaml, doc, keys));
  return {
    path,
    format: "yaml",
    read(entry) {
      if (entry.yaml === undefined) return undefined;
      const keys = entry.yaml.split(".");
      const parent = keys.slice(0, -1);
      const holder = walk(data, parent, path, lineOf);
      const raw = holder?.[keys.at(-1)!];
      if (raw === undefined || raw === null) return undefined;
      const source: PlatformConfigSource = {
        kind: "file",
        path,
        key: entry.yaml,
        line: lineOf(keys),
        secret: entry.secret === true,
      };
      const value = fromYaml(raw, entry, source);
      return value === undefined ? undefined : { value, source };
    },
  };
}

/** The offset of the last key of `keys`, for its line. */
function keyOffset(
  yaml: YamlModule,
  doc: Document,
  keys: string[],
): number | undefined {
  const map = doc.getIn(keys.slice(0, -1), true);
  if (!yaml.isMap(map)) return undefined;
  const pair = map.items.find((item) =>
    yaml.isScalar(item.key) && item.key.value === keys.at(-1)
  );
  return yaml.isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
}

type YamlModule = typeof import("yaml");

function yamlData(
  doc: Document,
  path: string,
): Record<string, unknown> {
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (cause) {
    throw new ConfigError(
      `Cannot parse the config file "${path}": its aliases cannot be resolved; fix the YAML`,
      { cause },
    );
  }
  if (data === null || data === undefined) return {};
  if (!isRecord(data)) {
    throw new ConfigError(
      `Cannot read the config file "${path}" at line 1: the top level is not a mapping; write keys such as "admin:" at the top level`,
    );
  }
  return data;
}

function walk(
  data: Record<string, unknown>,
  keys: string[],
  path: string,
  lineOf: (keys: string[]) => number,
): Record<string, unknown> | undefined {
  let current: Record<string, unknown> = data;
  for (const [index, key] of keys.entries()) {
    const next = current[key];
    if (next === undefined || next === null) return undefined;
    if (!isRecord(next)) {
      const at = keys.slice(0, index + 1);
      throw new ConfigError(
        `Cannot read "${at.join(".")}" in "${path}" at line ${
          lineOf(at)
        }: it is ${
          describeType(next)
        }, not a mapping; indent its keys under it`,
      );
    }
    current = next;
  }
  return current;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------
// Values

function readEnv(entry: Setting, env: EnvReader): Found | undefined {
  const name =
    `FLYTE_${entry.section.toUpperCase()}_${entry.option.toUpperCase()}`;
  const text = env(name);
  if (text === undefined) return undefined;
  const source: PlatformConfigSource = {
    kind: "env",
    name,
    secret: entry.secret === true,
  };
  const value = fromText(text, entry, source);
  return value === undefined ? undefined : { value, source };
}

/** Reads a value written as text, in INI or in the environment. */
function fromText(
  text: string,
  entry: Setting,
  source: PlatformConfigSource,
): Value | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  switch (entry.kind) {
    case "string":
      return entry.secret ? text : trimmed;
    case "boolean":
      return toBoolean(trimmed, entry, source);
    case "list":
      return toList(trimmed.split(","));
  }
}

function fromYaml(
  raw: unknown,
  entry: Setting,
  source: PlatformConfigSource,
): Value | undefined {
  if (typeof raw === "string") return fromText(raw, entry, source);
  if (entry.kind === "boolean") {
    if (typeof raw === "boolean") return raw;
    if (raw === 0 || raw === 1) return raw === 1;
    throw wrongType(entry, source, raw, "a boolean", BOOLEAN_FIX);
  }
  if (entry.kind === "list" && Array.isArray(raw)) {
    if (raw.every(isPlain)) return toList(raw.map(String));
    throw wrongType(
      entry,
      source,
      raw,
      "a list of strings",
      "write one string per item",
    );
  }
  if (isPlain(raw)) {
    return entry.kind === "list" ? toList([String(raw)]) : String(raw);
  }
  const expected = entry.kind === "list" ? "a list" : "a string";
  throw wrongType(entry, source, raw, expected, `write ${expected}`);
}

function isPlain(value: unknown): value is string | number | boolean {
  return ["string", "number", "boolean"].includes(typeof value);
}

function toBoolean(
  text: string,
  entry: Setting,
  source: PlatformConfigSource,
): boolean {
  const lower = text.toLowerCase();
  if (TRUE.has(lower)) return true;
  if (FALSE.has(lower)) return false;
  throw wrongType(entry, source, text, "a boolean", BOOLEAN_FIX);
}

function toList(items: string[]): string[] | undefined {
  const list = items.map((item) => item.trim()).filter((item) => item !== "");
  return list.length === 0 ? undefined : list;
}

function wrongType(
  entry: Setting,
  source: PlatformConfigSource,
  value: unknown,
  expected: string,
  fix: string,
): ConfigError {
  const shown = entry.secret || typeof value !== "string"
    ? describeType(value)
    : `"${value.length > 60 ? `${value.slice(0, 60)}...` : value}"`;
  return new ConfigError(
    `Cannot read ${
      describeSource(source)
    }: ${shown} is not ${expected}; ${fix}`,
  );
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (isRecord(value)) return "a mapping";
  return `a ${typeof value}`;
}

function describeSource(source: PlatformConfigSource): string {
  switch (source.kind) {
    case "file":
      return `"${source.key}" in "${source.path}" at line ${source.line}`;
    case "env":
      return `the environment variable "${source.name}"`;
    case "secret_file":
      return `the client secret file "${source.path}"`;
    case "derived":
      return "the auth mode";
  }
}

// ---------------------------------------------------------------------------
// Assembling the config

function assemble(
  found: Map<PlatformConfigSetting, Found>,
): LoadedPlatformConfig {
  const config: Record<string, Value> = {};
  const settings: PlatformConfigSources["settings"] = {};
  for (const [name, { value, source }] of found) {
    settings[name] = source;
    if (name === "clientSecretLocation" || name === "clientSecretEnvVar") {
      continue;
    }
    config[name] = name === "endpoint"
      ? (value as string).replaceAll("dns:///", "")
      : value;
  }
  return {
    config: config as PlatformConfig,
    sources: { searched: [], settings },
  };
}

/**
 * flytekit's order: the literal secret, replaced by the secret file's
 * contents, replaced by the named variable's value; either of the last two
 * switches the auth mode to ClientSecret.
 */
async function applySecretSources(
  loaded: LoadedPlatformConfig,
  found: Map<PlatformConfigSetting, Found>,
  env: EnvReader,
  cwd: string,
): Promise<void> {
  const location = found.get("clientSecretLocation");
  if (location) {
    loaded.clientSecretLocation = resolvePath(cwd, location.value as string);
  }
  const variable = found.get("clientSecretEnvVar");
  if (variable) loaded.clientSecretEnvVar = variable.value as string;

  const fromFile = location && await secretFromFile(loaded, location.source);
  const fromEnv = variable && secretFromEnv(loaded, variable.source, env);
  const secret = fromEnv ?? fromFile;
  if (secret === undefined) return;

  loaded.config.clientCredentialsSecret = secret.value;
  loaded.config.authMode = CLIENT_SECRET_MODE;
  loaded.sources.settings.clientCredentialsSecret = secret.source;
  loaded.sources.settings.authMode = {
    kind: "derived",
    from: "clientCredentialsSecret",
    secret: false,
  };
}

interface Secret {
  value: string;
  source: PlatformConfigSource;
}

async function secretFromFile(
  loaded: LoadedPlatformConfig,
  namedBy: PlatformConfigSource,
): Promise<Secret | undefined> {
  const path = loaded.clientSecretLocation!;
  const value = (await readSecretFile(path, namedBy)).trim();
  if (value === "") return undefined;
  return {
    value,
    source: { kind: "secret_file", path, namedBy, secret: true },
  };
}

function secretFromEnv(
  loaded: LoadedPlatformConfig,
  namedBy: PlatformConfigSource,
  env: EnvReader,
): Secret | undefined {
  const name = loaded.clientSecretEnvVar!;
  const value = env(name);
  if (value === undefined) return undefined;
  return { value, source: { kind: "env", name, namedBy, secret: true } };
}

async function readSecretFile(
  path: string,
  namedBy: PlatformConfigSource,
): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (cause) {
    throw new ConfigError(
      `Cannot read the client secret file "${path}" named by ${
        describeSource(namedBy)
      }: ${readFailure(cause)}`,
      { cause },
    );
  }
}
