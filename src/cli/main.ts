/**
 * The sesame command line: a token for `curl`, a log-in, and what the
 * config resolves to.
 *
 * ```sh
 * deno run -A jsr:@sesame/auth/cli token
 * curl -H "$(deno run -A jsr:@sesame/auth/cli token --header)" https://flyte.example.com/api/v1/projects
 * ```
 *
 * Commands: `token`, `login`, `logout`, `modes`, `explain`. Common flags:
 * `--config`, `--endpoint`, `--auth-mode`, `--verbose`, `--help`. Exit
 * codes: 0 success, 1 authentication failure, 2 usage or config error.
 *
 * Requires `--allow-read`, `--allow-env`, `--allow-net`, and
 * `--allow-write` and `--allow-run` for the modes that need them: `-A` is
 * simplest.
 *
 * @example Running a command in code
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@sesame/auth/cli";
 *
 * const lines: string[] = [];
 * const code = await main(["modes", "--help"], {
 *   out: (line) => lines.push(line),
 *   err: (line) => lines.push(line),
 *   interactive: false,
 * });
 * assert.ok(code === 0 && lines[0]!.startsWith("Usage"));
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Authenticator, Credentials } from "../authenticator.ts";
import type { ClientConfig, ClientConfigStore } from "../client_config.ts";
import type { AuthContext } from "../context.ts";
import {
  type LoadedPlatformConfig,
  loadPlatformConfigWithSources,
  type PlatformConfigSource,
} from "../config/load_platform_config.ts";
import { RemoteClientConfigStore } from "../config/remote_client_config_store.ts";
import {
  ConfigError,
  PluginContractError,
  PluginInitError,
  PluginLoadError,
  UnknownAuthModeError,
} from "../errors.ts";
import type { PlatformConfig } from "../platform_config.ts";
import {
  getAuthenticator,
  listAuthModes,
  resolveAuthMode,
} from "../resolve/resolver.ts";
import type { CredentialStore } from "../store/credential_store.ts";
import { FileCredentialStore } from "../store/file_credential_store.ts";
import {
  type CliOutput,
  formatEvent,
  processOutput,
  PromptDisplay,
} from "./_terminal.ts";

export type { CliOutput } from "./_terminal.ts";

const COMMON_USAGE = `Common options:
  --config <path>       the flytectl or flytekit config file to read
  --endpoint <host>     the platform endpoint, instead of the config's
  --auth-mode <name>    the auth mode, instead of the config's
  --verbose             print what happens on stderr, and stack traces
  --help                show this help`;

const USAGE: Record<string, string> = {
  main: `Usage: sesame <command> [options]

Commands:
  token     print an access token
  login     log in once with the configured mode and keep the result
  logout    forget what is stored for the endpoint
  modes     list every auth mode name and where it comes from
  explain   show the config, the mode, the client config and the cache

${COMMON_USAGE}`,
  token: `Usage: sesame token [--header] [--format text|json] [options]

Prints the access token alone, for $(...).
  --header              print the whole header line instead
  --format json         print the credentials as JSON, without the refresh token

${COMMON_USAGE}`,
  login: `Usage: sesame login [options]

Forgets the stored login, then runs the configured mode's flow once (a
browser for pkce, a code for deviceflow) and keeps the result.

${COMMON_USAGE}`,
  logout: `Usage: sesame logout [options]

Deletes every stored credential of the configured endpoint.

${COMMON_USAGE}`,
  modes: `Usage: sesame modes [options]

Lists every auth mode name: built in, registered, and in auth.plugins of the
deno.json found from the working directory up.

${COMMON_USAGE}`,
  explain: `Usage: sesame explain [options]

Shows where each setting came from, how the mode resolves, the client
config and the cache state. Secrets are masked.

${COMMON_USAGE}`,
};

const OPTIONS = {
  config: { type: "string" },
  endpoint: { type: "string" },
  "auth-mode": { type: "string" },
  verbose: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  header: { type: "boolean" },
  format: { type: "string" },
} as const;

/** A wrong command line; exits with code 2. */
class UsageError extends Error {}

type Flags = ReturnType<typeof parseFlags>["values"];

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Runs the command line.
 *
 * @param args The arguments, without the program name.
 * @param output Where to write; the process's stdout and stderr by default.
 * @returns The exit code: 0 success, 1 authentication failure, 2 usage or
 * config error.
 */
export async function main(
  args: string[],
  output: CliOutput = processOutput(),
): Promise<number> {
  let verbose = args.includes("--verbose");
  try {
    const { values: flags, positionals } = parseFlags(args);
    verbose = flags.verbose ?? false;
    const [command = "", ...extra] = positionals;
    if (flags.help || command === "" || command === "help") {
      output.out(USAGE[command in USAGE ? command : "main"]!);
      return command === "" && !flags.help ? 2 : 0;
    }
    if (!(command in USAGE) || command === "main") {
      throw new UsageError(`unknown command "${command}"`);
    }
    if (extra.length > 0) {
      throw new UsageError(`unexpected argument "${extra[0]}"`);
    }
    await COMMANDS[command as keyof typeof COMMANDS](flags, output);
    return 0;
  } catch (error) {
    return report(error, verbose, output);
  }
}

function report(error: unknown, verbose: boolean, output: CliOutput): number {
  if (error instanceof UsageError) {
    output.err(`sesame: ${error.message}; see sesame --help`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  output.err(`sesame: ${message}`);
  if (verbose && error instanceof Error && error.stack) output.err(error.stack);
  return isConfigProblem(error) ? 2 : 1;
}

function isConfigProblem(error: unknown): boolean {
  return error instanceof ConfigError ||
    error instanceof UnknownAuthModeError ||
    error instanceof PluginLoadError ||
    error instanceof PluginContractError ||
    error instanceof PluginInitError;
}

const COMMANDS = {
  token: tokenCommand,
  login: loginCommand,
  logout: logoutCommand,
  modes: modesCommand,
  explain: explainCommand,
};

interface Session {
  loaded: LoadedPlatformConfig;
  config: PlatformConfig;
  clientConfigStore: ClientConfigStore;
  credentialStore: CredentialStore & { keys(): Promise<string[]> };
  context: Partial<AuthContext>;
  prompt: PromptDisplay;
}

async function openSession(flags: Flags, output: CliOutput): Promise<Session> {
  const loaded = await loadPlatformConfigWithSources({ path: flags.config });
  const config: PlatformConfig = { ...loaded.config };
  if (flags.endpoint !== undefined) config.endpoint = flags.endpoint;
  if (flags["auth-mode"] !== undefined) config.authMode = flags["auth-mode"];
  const prompt = new PromptDisplay(output);
  const credentialStore = new FileCredentialStore();
  const context: Partial<AuthContext> = {
    credentialStore,
    onDevicePrompt: (shown) => prompt.show(shown),
  };
  if (flags.verbose) {
    context.onEvent = (event) => output.err(formatEvent(event));
  }
  return {
    loaded,
    config,
    clientConfigStore: clientConfigStoreFor(config),
    credentialStore,
    context,
    prompt,
  };
}

function clientConfigStoreFor(config: PlatformConfig): ClientConfigStore {
  const { endpoint } = config;
  if (endpoint) {
    return new RemoteClientConfigStore(endpoint, { insecure: config.insecure });
  }
  return {
    getClientConfig(): Promise<ClientConfig> {
      return Promise.reject(
        new ConfigError(
          "Cannot read the client config: no platform endpoint is set; set admin.endpoint in the config, FLYTE_PLATFORM_URL, or pass --endpoint",
        ),
      );
    },
  };
}

async function authenticate(session: Session): Promise<{
  authenticator: Authenticator;
  credentials: Credentials;
}> {
  const authenticator = await getAuthenticator(
    session.config,
    session.clientConfigStore,
    { context: session.context },
  );
  try {
    const credentials = await authenticator.getCredentials();
    return { authenticator, credentials };
  } finally {
    session.prompt.stop();
  }
}

async function tokenCommand(flags: Flags, output: CliOutput): Promise<void> {
  const format = flags.format ?? "text";
  if (format !== "text" && format !== "json") {
    throw new UsageError(`unknown format "${format}"; use text or json`);
  }
  if (flags.header && format === "json") {
    throw new UsageError("--header and --format json do not go together");
  }
  const session = await openSession(flags, output);
  const { authenticator, credentials } = await authenticate(session);
  if (format === "json") {
    output.out(
      JSON.stringify(publicCredentials(authenticator, credentials), null, 2),
    );
  } else if (flags.header) {
    output.out(`${authenticator.headerKey}: Bearer ${credentials.accessToken}`);
  } else {
    output.out(credentials.accessToken);
  }
}

function publicCredentials(
  authenticator: Authenticator,
  credentials: Credentials,
) {
  const { expiresAt } = credentials;
  return {
    headerKey: authenticator.headerKey,
    accessToken: credentials.accessToken,
    ...(credentials.idToken ? { idToken: credentials.idToken } : {}),
    ...(expiresAt === undefined
      ? {}
      : { expiresAt: new Date(expiresAt).toISOString() }),
  };
}

async function loginCommand(flags: Flags, output: CliOutput): Promise<void> {
  const session = await openSession(flags, output);
  const mode = await storedMode(session.config);
  // A mode that keeps nothing (a plugin, a command) has nothing to forget.
  const forgotten = mode === undefined ? 0 : await forget(session, mode);
  const { credentials } = await authenticate(session);
  const until = credentials.expiresAt === undefined
    ? "until the server rejects it"
    : `until ${new Date(credentials.expiresAt).toISOString()}`;
  output.err(
    `Logged in to ${describeEndpoint(session.config)} with auth mode "${
      modeName(session.config)
    }"; the token is valid ${until}` +
      (forgotten > 0 ? ` (replaced ${forgotten} stored login)` : ""),
  );
}

async function logoutCommand(flags: Flags, output: CliOutput): Promise<void> {
  const session = await openSession(flags, output);
  const forgotten = await forget(session);
  output.err(
    forgotten === 0
      ? `Nothing was stored for ${describeEndpoint(session.config)}`
      : `Forgot ${forgotten} stored credential${
        forgotten === 1 ? "" : "s"
      } for ${describeEndpoint(session.config)}`,
  );
}

/** The mode part of the keys the built-in authenticators store under. */
const STORED_MODES: Record<string, string> = {
  PkceAuthenticator: "pkce",
  DeviceCodeAuthenticator: "deviceflow",
  ClientCredentialsAuthenticator: "client_credentials",
};

async function storedMode(config: PlatformConfig): Promise<string | undefined> {
  const found = await resolveAuthMode(modeName(config));
  return found.source === "builtin"
    ? STORED_MODES[found.authenticator]
    : undefined;
}

/** Deletes the stored keys of the session's endpoint, or of one mode of it. */
async function forget(session: Session, mode?: string): Promise<number> {
  const keys = await storedKeys(session, mode);
  for (const key of keys) await session.credentialStore.delete(key);
  return keys.length;
}

async function storedKeys(session: Session, mode?: string): Promise<string[]> {
  const endpoint = session.config.endpoint;
  if (!endpoint) return [];
  const prefix = mode === undefined ? `${endpoint}|` : `${endpoint}|${mode}|`;
  const keys = await session.credentialStore.keys();
  return keys.filter((key) => key.startsWith(prefix));
}

async function modesCommand(flags: Flags, output: CliOutput): Promise<void> {
  const modes = await listAuthModes();
  const current = modeName(
    flags["auth-mode"] !== undefined ? { authMode: flags["auth-mode"] } : {},
  );
  const rows = modes.map((m) => [
    m.mode === current && !m.shadowedBy ? `* ${m.mode}` : `  ${m.mode}`,
    m.source,
    m.target,
    m.shadowedBy
      ? `never used: the ${m.shadowedBy} name wins`
      : m.error ?? (m.url && m.url !== m.target ? m.url : m.configFile ?? ""),
  ]);
  for (
    const line of table([
      ["  MODE", "SOURCE", "AUTHENTICATOR", "NOTE"],
      ...rows,
    ])
  ) {
    output.out(line);
  }
}

async function explainCommand(flags: Flags, output: CliOutput): Promise<void> {
  const session = await openSession(flags, output);
  const { loaded, config } = session;
  const print = output.out;

  print("Config");
  const file = loaded.sources.file;
  print(
    file
      ? `  file: ${file.path} (${file.format}, found by ${file.foundBy})`
      : "  file: none found",
  );
  if (loaded.sources.searched.length > 0) {
    print(`  searched: ${loaded.sources.searched.join(", ")}`);
  }
  for (const [name, source] of Object.entries(loaded.sources.settings)) {
    const value = (config as Record<string, unknown>)[name];
    print(
      `  ${name} = ${showValue(name, value)}  (${describeSource(source!)})`,
    );
  }
  for (const name of ["endpoint", "authMode"] as const) {
    const flag = name === "endpoint" ? "--endpoint" : "--auth-mode";
    if (flags[name === "endpoint" ? "endpoint" : "auth-mode"] !== undefined) {
      print(`  ${name} = ${config[name]}  (${flag})`);
    }
  }

  print("Auth mode");
  await explainMode(config, print);

  print("Client config");
  await explainClientConfig(session, print);

  print("Stored credentials");
  await explainCache(session, print);
}

async function explainMode(
  config: PlatformConfig,
  print: (line: string) => void,
) {
  const mode = modeName(config);
  try {
    const found = await resolveAuthMode(mode);
    const where = found.source === "config"
      ? `discovered in ${found.configFile}: "${found.specifier}" -> ${found.url}`
      : found.source === "registry"
      ? `registered plugin ${found.authenticator}`
      : `built in: ${found.authenticator}`;
    print(`  "${mode}": ${where}`);
  } catch (error) {
    print(`  "${mode}": ${(error as Error).message}`);
  }
}

async function explainClientConfig(
  session: Session,
  print: (line: string) => void,
): Promise<void> {
  try {
    const clientConfig = await session.clientConfigStore.getClientConfig();
    for (const [name, value] of Object.entries(clientConfig)) {
      print(`  ${name} = ${Array.isArray(value) ? value.join(" ") : value}`);
    }
  } catch (error) {
    print(`  unavailable: ${(error as Error).message}`);
  }
}

async function explainCache(
  session: Session,
  print: (line: string) => void,
): Promise<void> {
  const keys = await storedKeys(session).catch((error: Error) => {
    print(`  unavailable: ${error.message}`);
    return undefined;
  });
  if (keys === undefined) return;
  if (keys.length === 0) print("  none for this endpoint");
  for (const key of keys) {
    const stored = await session.credentialStore.get(key);
    if (!stored) continue;
    const left = stored.expiresAt === undefined
      ? "expiry unknown"
      : stored.expiresAt > Date.now()
      ? `expires ${new Date(stored.expiresAt).toISOString()} (in ${
        Math.round((stored.expiresAt - Date.now()) / 60_000)
      } min)`
      : `expired ${new Date(stored.expiresAt).toISOString()}`;
    const refresh = stored.refreshToken
      ? "a refresh token"
      : "no refresh token";
    print(
      `  ${key}: access token ${mask(stored.accessToken)}, ${left}, ${refresh}`,
    );
  }
}

const SECRET_SETTINGS = new Set(["clientCredentialsSecret"]);

function showValue(name: string, value: unknown): string {
  if (SECRET_SETTINGS.has(name)) return value ? "******** (set)" : "(empty)";
  if (Array.isArray(value)) return value.join(" ");
  return String(value);
}

function describeSource(source: PlatformConfigSource): string {
  const fields = Object.entries(source)
    .filter(([key]) => key !== "secret")
    .map(([key, value]) => `${key} ${value}`);
  return fields.join(", ");
}

/** Shows the length of a token and nothing of its value. */
function mask(token: string): string {
  return `(${token.length} characters, hidden)`;
}

function modeName(config: PlatformConfig): string {
  return (config.authMode || "standard").toLowerCase();
}

function describeEndpoint(config: PlatformConfig): string {
  return config.endpoint ? `"${config.endpoint}"` : "the configured endpoint";
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) =>
    Math.max(...rows.map((row) => row[column]!.length))
  );
  return rows.map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd()
  );
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
