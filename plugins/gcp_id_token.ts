/**
 * An auth plugin that gets a Google ID token in process, for platforms
 * behind Google's identity-aware proxy or that trust Google-signed tokens:
 * what `gcloud auth print-identity-token` does, without a process per token.
 *
 * Credentials are found the way Google's Application Default Credentials
 * are, in this order:
 *
 * 1. The `credentialsFile` option, else `GOOGLE_APPLICATION_CREDENTIALS`: a
 *    `service_account` key (an RS256 JWT with a `target_audience` claim,
 *    signed in process and traded at the key's `token_uri` with the
 *    jwt-bearer grant) or an `authorized_user` file (a refresh-token grant
 *    whose answer holds an ID token).
 * 2. gcloud's file, `application_default_credentials.json` in
 *    `$CLOUDSDK_CONFIG`, else `~/.config/gcloud` (`%APPDATA%\gcloud` on
 *    Windows), as written by `gcloud auth application-default login`.
 * 3. The metadata server on Google Cloud (`GCE_METADATA_HOST`, else
 *    `metadata.google.internal`), which must answer its first request within
 *    3 seconds.
 *
 * The audience is the `audience` option, else the config's `audience`, else
 * the client config's client id. The ID token is the access token, kept
 * until shortly before its `exp`.
 *
 * > [!NOTE]
 * > Google ignores the audience for `authorized_user` credentials: their ID
 * > token's audience is the OAuth client that logged in. Use a service
 * > account key or the metadata server when the platform checks it.
 *
 * @example Registering it with a service account key
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { gcpIdToken } from "@sesame/auth/plugins/gcp_id_token";
 *
 * registerAuthenticatorPlugin(
 *   "gcp",
 *   gcpIdToken({
 *     credentialsFile: "/secrets/flyte-sa.json",
 *     audience: "1234-abcd.apps.googleusercontent.com",
 *   }),
 * );
 * ```
 *
 * @module
 */

import { importPKCS8, SignJWT } from "jose";
import {
  type AuthContext,
  type AuthenticatorFactory,
  CachingAuthenticator,
  type ClientConfigStore,
  ConfigError,
  type Credentials,
  type FetchCredentialsOptions,
  type FetchLike,
  type PlatformConfig,
  TokenRequestError,
} from "../mod.ts";
import {
  DEFAULT_TIMEOUT_MS,
  missingField,
  postForm,
  type RequestOptions,
  requestText,
  safeUrl,
} from "./_http.ts";
import {
  checkOptionTypes,
  type EnvReader,
  envReader,
  isReadableFile,
  readSourceFile,
} from "./_sources.ts";

const CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS";
const USER_TOKEN_URL_ENV = "SESAME_GOOGLE_USER_TOKEN_URL";
const METADATA_HOST_ENV = "GCE_METADATA_HOST";
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
const METADATA_HOST = "metadata.google.internal";
const IDENTITY_PATH =
  "/computeMetadata/v1/instance/service-accounts/default/identity";
const ADC_FILE = "application_default_credentials.json";
const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ASSERTION_LIFETIME_S = 3600;
const PROBE_TIMEOUT_MS = 3000;
const LOGIN_HINT =
  'run "gcloud auth application-default login", or set GOOGLE_APPLICATION_CREDENTIALS to a service account key';

/** Options of {@linkcode GcpIdTokenAuthenticator} and {@linkcode gcpIdToken}. */
export interface GcpIdTokenOptions {
  /**
   * The audience of the ID token: the platform's OAuth client id or URL.
   *
   * @default {config.audience, else the client config's clientId}
   */
  audience?: string;
  /**
   * A `service_account` key or `authorized_user` file.
   *
   * @default {GOOGLE_APPLICATION_CREDENTIALS, else gcloud's file, else the metadata server}
   */
  credentialsFile?: string;
  /**
   * The token endpoint for `authorized_user` credentials.
   *
   * @default {SESAME_GOOGLE_USER_TOKEN_URL, else the file's token_uri, else "https://oauth2.googleapis.com/token"}
   */
  userTokenUrl?: string;
  /**
   * The metadata server's host and port, or URL.
   *
   * @default {GCE_METADATA_HOST, else "metadata.google.internal"}
   */
  metadataHost?: string;
  /**
   * How long the metadata server may take to answer the first request, in
   * milliseconds; when it does not, there are no credentials.
   *
   * @default {3000}
   */
  metadataProbeTimeoutMs?: number;
  /**
   * How long each other request may take, in milliseconds.
   *
   * @default {30000}
   */
  timeoutMs?: number;
  /**
   * The header the token goes in.
   *
   * @default {config.authorizationHeader ?? "authorization"}
   */
  headerKey?: string;
  /** Environment variables to read instead of the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Where ID tokens come from, found once and kept, with the imported key. */
type GoogleSource =
  | {
    kind: "service_account";
    file: string;
    clientEmail: string;
    keyId?: string;
    tokenUri: string;
    tokenUrl: URL;
    privateKey: CryptoKey;
  }
  | {
    kind: "authorized_user";
    file: string;
    clientId: string;
    clientSecret: string;
    refreshToken: string;
    tokenUrl: URL;
  }
  | { kind: "metadata"; base: URL; answered: boolean; searched: string };

/**
 * Gets Google ID tokens in process, from a service account key, gcloud's
 * user credentials or the metadata server.
 *
 * The key file is read and its private key imported once, on the first
 * request for credentials.
 *
 * Requires `--allow-read` for the key file, `--allow-env`, and
 * `--allow-net` for the token endpoint or the metadata server.
 *
 * @example Constructing it for an audience
 * ```ts
 * import assert from "node:assert/strict";
 * import { GcpIdTokenAuthenticator } from "@sesame/auth/plugins/gcp_id_token";
 *
 * const authenticator = new GcpIdTokenAuthenticator(
 *   { audience: "1234-abcd.apps.googleusercontent.com" },
 * );
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export class GcpIdTokenAuthenticator extends CachingAuthenticator {
  readonly #config: PlatformConfig;
  readonly #store?: ClientConfigStore;
  readonly #fetch: FetchLike;
  readonly #options: GcpIdTokenOptions;
  readonly #readEnv: EnvReader;
  #source?: GoogleSource;
  #audience?: string;

  /**
   * Creates the authenticator; nothing is read or requested until
   * credentials are asked for.
   *
   * @param config The platform config: `audience` and
   * `authorizationHeader`.
   * @param store The client config, whose client id is the audience when
   * none is set.
   * @param context The `fetch`, the clock and the event sink.
   * @param options The audience, the credentials file, the environment.
   * @throws {TypeError} When an option has the wrong type.
   */
  constructor(
    config: PlatformConfig = {},
    store?: ClientConfigStore,
    context?: Partial<AuthContext>,
    options: GcpIdTokenOptions = {},
  ) {
    checkOptions(options);
    super({
      headerKey: options.headerKey ?? config.authorizationHeader ??
        "authorization",
      context,
    });
    this.#config = config;
    this.#store = store;
    this.#fetch = context?.fetch ?? ((input, init) => fetch(input, init));
    this.#options = { ...options };
    this.#readEnv = envReader(options.env);
  }

  /**
   * Gets a new ID token from the credentials found on the first call.
   *
   * @param options The abort signal of the callers waiting.
   * @returns The ID token as the access token; its expiry is its `exp`.
   */
  protected async fetchCredentials(
    options: FetchCredentialsOptions,
  ): Promise<Credentials> {
    const source = this.#source ??= await this.#findSource();
    const idToken = await this.#requestIdToken(source, options.signal);
    return { accessToken: idToken, idToken };
  }

  #requestIdToken(source: GoogleSource, signal: AbortSignal): Promise<string> {
    switch (source.kind) {
      case "service_account":
        return this.#fromServiceAccount(source, signal);
      case "authorized_user":
        return this.#fromAuthorizedUser(source, signal);
      case "metadata":
        return this.#fromMetadataServer(source, signal);
    }
  }

  async #findSource(): Promise<GoogleSource> {
    const given = this.#options.credentialsFile;
    if (given !== undefined) {
      return await this.#loadFile(given, "fix the credentialsFile option");
    }
    const fromEnv = this.#readEnv(CREDENTIALS_ENV);
    if (fromEnv !== undefined) {
      return await this.#loadFile(fromEnv, `fix ${CREDENTIALS_ENV}`);
    }
    const gcloudFile = this.#gcloudFile();
    if (gcloudFile !== undefined && await isReadableFile(gcloudFile)) {
      return await this.#loadFile(gcloudFile, "fix its permissions");
    }
    const searched = gcloudFile === undefined
      ? `${CREDENTIALS_ENV} is not set`
      : `${CREDENTIALS_ENV} is not set, "${gcloudFile}" does not exist`;
    return {
      kind: "metadata",
      base: this.#metadataBase(),
      answered: false,
      searched,
    };
  }

  async #loadFile(path: string, fix: string): Promise<GoogleSource> {
    const text = await readSourceFile(
      path,
      "the Google credentials file",
      `${fix}, or ${LOGIN_HINT}`,
    );
    const json = parseCredentialsFile(text, path);
    switch (json.type) {
      case "service_account":
        return await readServiceAccount(json, path);
      case "authorized_user":
        return readAuthorizedUser(json, path, this.#userTokenUrl(json));
      default:
        throw new ConfigError(
          `Cannot use the Google credentials file "${path}": its type ${
            JSON.stringify(String(json.type ?? "none"))
          } is not supported; use a service_account key, or ${LOGIN_HINT}`,
        );
    }
  }

  #userTokenUrl(json: Record<string, unknown>): string {
    return this.#options.userTokenUrl ?? this.#readEnv(USER_TOKEN_URL_ENV) ??
      (typeof json.token_uri === "string" ? json.token_uri : GOOGLE_TOKEN_URL);
  }

  #gcloudFile(): string | undefined {
    const configDir = this.#readEnv("CLOUDSDK_CONFIG");
    if (configDir !== undefined) return joinPath(configDir, ADC_FILE);
    if (Deno.build.os === "windows") {
      const appData = this.#readEnv("APPDATA");
      return appData && joinPath(appData, "gcloud", ADC_FILE);
    }
    const home = this.#readEnv("HOME");
    return home && joinPath(home, ".config", "gcloud", ADC_FILE);
  }

  #metadataBase(): URL {
    const host = this.#options.metadataHost ??
      this.#readEnv(METADATA_HOST_ENV) ?? METADATA_HOST;
    const text = /^https?:\/\//i.test(host) ? host : `http://${host}`;
    try {
      return new URL(text);
    } catch {
      throw new ConfigError(
        `Cannot use the metadata server "${host}" (${METADATA_HOST_ENV}): it is not a host:port; fix or unset ${METADATA_HOST_ENV}`,
      );
    }
  }

  async #audienceOf(): Promise<string> {
    if (this.#audience !== undefined) return this.#audience;
    const audience = this.#options.audience ?? this.#config.audience ??
      (await this.#store?.getClientConfig())?.clientId;
    if (!audience) {
      throw new ConfigError(
        "Cannot get a Google ID token: no audience is known; set audience in the platform config or the plugin's options",
      );
    }
    return this.#audience = audience;
  }

  async #fromServiceAccount(
    source: GoogleSource & { kind: "service_account" },
    signal: AbortSignal,
  ): Promise<string> {
    const audience = await this.#audienceOf();
    const assertion = await signAssertion(source, audience, this.now());
    const words = {
      what: "get a Google ID token",
      hint:
        `check that the service account "${source.clientEmail}" in "${source.file}" exists and its key is not revoked`,
    };
    const json = await postForm(
      source.tokenUrl,
      { grant_type: JWT_BEARER_GRANT, assertion },
      this.#requestOptions(signal, words),
    );
    return readIdToken(json, source.tokenUrl, words);
  }

  async #fromAuthorizedUser(
    source: GoogleSource & { kind: "authorized_user" },
    signal: AbortSignal,
  ): Promise<string> {
    const words = {
      what: "get a Google ID token",
      hint: `the credentials in "${source.file}" may be revoked; ${LOGIN_HINT}`,
    };
    const json = await postForm(source.tokenUrl, {
      grant_type: "refresh_token",
      client_id: source.clientId,
      client_secret: source.clientSecret,
      refresh_token: source.refreshToken,
    }, this.#requestOptions(signal, words));
    return readIdToken(json, source.tokenUrl, words);
  }

  async #fromMetadataServer(
    source: GoogleSource & { kind: "metadata" },
    signal: AbortSignal,
  ): Promise<string> {
    const url = new URL(IDENTITY_PATH, source.base);
    url.searchParams.set("audience", await this.#audienceOf());
    url.searchParams.set("format", "full");
    const words = {
      what: "get a Google ID token from the metadata server",
      hint: "check the service account attached to this machine",
    };
    const options = this.#requestOptions(signal, words);
    if (!source.answered) {
      options.timeoutMs = this.#options.metadataProbeTimeoutMs ??
        PROBE_TIMEOUT_MS;
    }
    const { response, text } = await this.#probe(source, url, options);
    if (response.headers.get("metadata-flavor") !== "Google") {
      throw new TokenRequestError(
        `Cannot get a Google ID token from "${url.origin}": it is not a metadata server (no "Metadata-Flavor: Google" header); fix or unset ${METADATA_HOST_ENV}`,
        { status: response.status },
      );
    }
    source.answered = true;
    const token = text.trim();
    if (token === "") throw missingField(url, "ID token", words);
    return token;
  }

  /** The first request to the metadata server tells whether there is one. */
  async #probe(
    source: GoogleSource & { kind: "metadata" },
    url: URL,
    options: RequestOptions,
  ): ReturnType<typeof requestText> {
    try {
      return await requestText(url, {
        headers: { "metadata-flavor": "Google" },
      }, options);
    } catch (error) {
      const unreachable = error instanceof TokenRequestError &&
        error.status === undefined;
      if (source.answered || !unreachable) throw error;
      this.#source = undefined;
      throw new ConfigError(
        `Cannot find Google credentials: ${source.searched}, and no metadata server answered at "${source.base.origin}" within ${options.timeoutMs} ms; ${LOGIN_HINT}, or run on Google Cloud`,
        { cause: error },
      );
    }
  }

  #requestOptions(
    signal: AbortSignal,
    words: { what: string; hint: string },
  ): RequestOptions {
    return {
      fetch: this.#fetch,
      signal,
      timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...words,
    };
  }
}

/**
 * Returns a plugin that gets Google ID tokens with the given options, to
 * register under a mode name.
 *
 * Requires `--allow-read` for the key file, `--allow-env`, and
 * `--allow-net` for the token endpoint or the metadata server.
 *
 * @param options The audience, the credentials file, the environment.
 * @returns The plugin's factory.
 * @throws {TypeError} When an option has the wrong type.
 *
 * @example Registering it
 * ```ts
 * import { registerAuthenticatorPlugin } from "@sesame/auth";
 * import { gcpIdToken } from "@sesame/auth/plugins/gcp_id_token";
 *
 * registerAuthenticatorPlugin(
 *   "gcp",
 *   gcpIdToken({ credentialsFile: "/secrets/flyte-sa.json" }),
 * );
 * ```
 */
export function gcpIdToken(
  options: GcpIdTokenOptions = {},
): AuthenticatorFactory {
  checkOptions(options);
  return function gcpIdTokenWithOptions(config, store, context) {
    return new GcpIdTokenAuthenticator(config, store, context, options);
  };
}

/**
 * The plugin's default factory, found through `auth.plugins`: it finds
 * credentials from `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file or the
 * metadata server.
 *
 * Requires `--allow-read` for the key file, `--allow-env`, and
 * `--allow-net` for the token endpoint or the metadata server.
 *
 * @param config The platform config.
 * @param store The client config store.
 * @param context The context.
 * @returns The authenticator.
 *
 * @example Calling it directly
 * ```ts
 * import assert from "node:assert/strict";
 * import { createAuthContext, StaticClientConfigStore } from "@sesame/auth";
 * import createGcpIdTokenAuthenticator from "@sesame/auth/plugins/gcp_id_token";
 *
 * const authenticator = createGcpIdTokenAuthenticator(
 *   {},
 *   new StaticClientConfigStore({
 *     tokenEndpoint: "https://idp.example.com/token",
 *     authorizationEndpoint: "https://idp.example.com/auth",
 *     redirectUri: "http://localhost:53593/callback",
 *     clientId: "1234-abcd.apps.googleusercontent.com",
 *   }),
 *   createAuthContext({}),
 * );
 * assert.ok(authenticator.headerKey === "authorization");
 * ```
 */
export default function createGcpIdTokenAuthenticator(
  config: PlatformConfig,
  store: ClientConfigStore,
  context: AuthContext,
): GcpIdTokenAuthenticator {
  return new GcpIdTokenAuthenticator(config, store, context);
}

/** Parses a credentials file; a parse error is not kept, as it quotes the file. */
function parseCredentialsFile(
  text: string,
  path: string,
): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(
      `Cannot use the Google credentials file "${path}": it is not a JSON object; download the key again, or ${LOGIN_HINT}`,
    );
  }
  return json as Record<string, unknown>;
}

async function readServiceAccount(
  json: Record<string, unknown>,
  path: string,
): Promise<GoogleSource> {
  const [clientEmail, privateKey] = requireStrings(json, path, [
    "client_email",
    "private_key",
  ]);
  const tokenUri = typeof json.token_uri === "string"
    ? json.token_uri
    : GOOGLE_TOKEN_URL;
  return {
    kind: "service_account",
    file: path,
    clientEmail: clientEmail!,
    keyId: typeof json.private_key_id === "string"
      ? json.private_key_id
      : undefined,
    tokenUri,
    tokenUrl: checkTokenUrl(tokenUri, path, "token_uri"),
    privateKey: await importKey(privateKey!, path),
  };
}

async function importKey(pem: string, path: string): Promise<CryptoKey> {
  try {
    return await importPKCS8(pem, "RS256");
  } catch {
    // The cause is dropped: it might quote the key.
    throw new ConfigError(
      `Cannot use the Google credentials file "${path}": its "private_key" is not a PKCS #8 RSA private key; download a new key for the service account`,
    );
  }
}

function readAuthorizedUser(
  json: Record<string, unknown>,
  path: string,
  tokenUrl: string,
): GoogleSource {
  const [clientId, clientSecret, refreshToken] = requireStrings(json, path, [
    "client_id",
    "client_secret",
    "refresh_token",
  ]);
  return {
    kind: "authorized_user",
    file: path,
    clientId: clientId!,
    clientSecret: clientSecret!,
    refreshToken: refreshToken!,
    tokenUrl: checkTokenUrl(tokenUrl, path, "token endpoint"),
  };
}

function requireStrings(
  json: Record<string, unknown>,
  path: string,
  names: string[],
): string[] {
  const missing = names.filter((name) =>
    typeof json[name] !== "string" || json[name] === ""
  );
  if (missing.length > 0) {
    throw new ConfigError(
      `Cannot use the Google credentials file "${path}": it has no ${
        missing.map((name) => `"${name}"`).join(", ")
      } for type "${json.type}"; download the key again, or ${LOGIN_HINT}`,
    );
  }
  return names.map((name) => json[name] as string);
}

function checkTokenUrl(value: string, path: string, what: string): URL {
  const url = safeUrl(value);
  if (url === undefined) {
    throw new ConfigError(
      `Cannot use the Google credentials file "${path}": its ${what} "${value}" is not an https URL; fix it`,
    );
  }
  return url;
}

/** The jwt-bearer assertion that asks Google for an ID token (RFC 7523). */
function signAssertion(
  source: GoogleSource & { kind: "service_account" },
  audience: string,
  now: number,
): Promise<string> {
  const issuedAt = Math.floor(now / 1000);
  const header = source.keyId === undefined
    ? { alg: "RS256", typ: "JWT" }
    : { alg: "RS256", typ: "JWT", kid: source.keyId };
  return new SignJWT({ target_audience: audience })
    .setProtectedHeader(header)
    .setIssuer(source.clientEmail)
    .setSubject(source.clientEmail)
    .setAudience(source.tokenUri)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ASSERTION_LIFETIME_S)
    .sign(source.privateKey);
}

function readIdToken(
  json: Record<string, unknown>,
  tokenUrl: URL,
  words: { what: string; hint: string },
): string {
  if (typeof json.id_token !== "string" || json.id_token === "") {
    throw missingField(tokenUrl, "id_token", words);
  }
  return json.id_token;
}

function checkOptions(options: GcpIdTokenOptions): void {
  checkOptionTypes("gcpIdToken()", options, {
    strings: [
      "audience",
      "credentialsFile",
      "userTokenUrl",
      "metadataHost",
      "headerKey",
    ],
    positiveNumbers: ["timeoutMs", "metadataProbeTimeoutMs"],
  });
}

/**
 * Joins path segments with the platform's separator. Not `node:path`: its
 * import starts Deno's Node compatibility layer, about 10 ms of every first
 * token, and these paths need nothing more.
 */
function joinPath(...parts: string[]): string {
  const separator = Deno.build.os === "windows" ? "\\" : "/";
  return parts.map((part, index) =>
    index === 0 ? part.replace(/[\\/]+$/, "") : part
  ).join(separator);
}
