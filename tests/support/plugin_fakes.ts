/**
 * What the plugin tests share: a clock that moves when told, local HTTP
 * servers that count requests, temporary folders, RSA keys, signed JWTs, and
 * a project whose deno.json names a plugin.
 *
 * @module
 */

import { exportPKCS8, generateKeyPair, SignJWT } from "jose";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import assert from "node:assert/strict";
import {
  AuthenticatorRegistry,
  getAuthenticator,
  resolveAuthMode,
  StaticClientConfigStore,
} from "../../mod.ts";

/** A clock that moves only when told to. */
export class Clock {
  time: number = Date.UTC(2030, 0, 1);
  now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A local server that counts the requests it answers. */
export interface FakeServer extends AsyncDisposable {
  /** Its base URL, ending with `/`. */
  url: URL;
  /** `host:port`, for settings that take no scheme. */
  hostPort: string;
  /** How many requests it has received. */
  readonly requests: number;
}

/** Serves `handler` on 127.0.0.1, on a free port. */
export function fakeServer(
  handler: (request: Request) => Response | Promise<Response>,
): FakeServer {
  let requests = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      requests++;
      return handler(request);
    },
  );
  const hostPort = `127.0.0.1:${server.addr.port}`;
  return {
    url: new URL(`http://${hostPort}/`),
    hostPort,
    get requests() {
      return requests;
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Answers an OAuth error, as token endpoints do. */
export function oauthError(error: string, description: string): Response {
  return Response.json({ error, error_description: description }, {
    status: 400,
  });
}

/** A temporary folder, removed when disposed. */
export interface TempDir extends AsyncDisposable {
  dir: string;
  path(name: string): string;
  write(name: string, text: string): Promise<string>;
}

/** Makes a temporary folder. */
export async function tempDir(): Promise<TempDir> {
  const dir = await Deno.makeTempDir({ prefix: "sesame-plugin-" });
  return {
    dir,
    path: (name) => join(dir, name),
    async write(name, text) {
      const path = join(dir, name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeTextFile(path, text);
      return path;
    },
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** An RSA key pair, with the private key also as PKCS #8 PEM. */
export interface RsaKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  pkcs8: string;
}

/** Generates an RS256 key pair. */
export async function rsaKeys(): Promise<RsaKeys> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    extractable: true,
  });
  return { privateKey, publicKey, pkcs8: await exportPKCS8(privateKey) };
}

/** Signs a JWT issued at `now` that lives `lifetimeS` seconds. */
export function signJwt(
  keys: RsaKeys,
  claims: Record<string, unknown>,
  now: number,
  lifetimeS = 3600,
): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new SignJWT({ ...claims, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "RS256", kid: "test-signer" })
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeS)
    .sign(keys.privateKey);
}

/** A client config store with the given token endpoint and client id. */
export function clientConfigStore(
  tokenEndpoint = "https://idp.example.com/token",
  clientId = "flytectl",
): StaticClientConfigStore {
  return new StaticClientConfigStore({
    tokenEndpoint,
    authorizationEndpoint: "https://idp.example.com/auth",
    redirectUri: "http://localhost:53593/callback",
    clientId,
  });
}

/** This repository's deno.json, whose auth.plugins lists the plugins. */
export const REPO_CONFIG_FILE: string = join(
  import.meta.dirname!,
  "../../deno.json",
);

/** The URL of a plugin module of this repository. */
export function pluginUrl(name: string): string {
  return pathToFileURL(join(import.meta.dirname!, `../../plugins/${name}.ts`))
    .href;
}

/**
 * Writes a project whose deno.json maps `mode` to a module that registers
 * the plugin `name` through its options helper, as a user's project would.
 *
 * @returns The deno.json path.
 */
export async function pluginProject(
  dir: TempDir,
  mode: string,
  name: string,
  helper: string,
  options: Record<string, unknown>,
): Promise<string> {
  await dir.write(
    `${mode}.ts`,
    `import { ${helper} } from ${JSON.stringify(pluginUrl(name))};\n` +
      `export default ${helper}(${JSON.stringify(options)});\n`,
  );
  return await dir.write(
    "deno.json",
    JSON.stringify({ auth: { plugins: { [mode]: `./${mode}.ts` } } }),
  );
}

/** What a fake token-exchange endpoint expects. */
export interface ExchangeExpectation {
  /** The client id the request must carry. */
  clientId: string;
  /** The subject token the request must carry. */
  subjectToken: () => string;
}

/**
 * A token endpoint that does RFC 8693 token exchange: it checks the form
 * and answers `exchanged-1`, `exchanged-2`, ... living 600 s, or an OAuth
 * error saying what is wrong.
 */
export function fakeTokenExchange(expect: ExchangeExpectation): FakeServer {
  let issued = 0;
  return fakeServer(async (request) => {
    const form = new URLSearchParams(await request.text());
    const wanted: Record<string, string> = {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      client_id: expect.clientId,
    };
    for (const [name, value] of Object.entries(wanted)) {
      if (form.get(name) !== value) {
        return oauthError("invalid_request", `wrong ${name}`);
      }
    }
    if (form.get("subject_token") !== expect.subjectToken()) {
      return oauthError("invalid_grant", "wrong subject_token");
    }
    return Response.json({
      access_token: `exchanged-${++issued}`,
      issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
      token_type: "Bearer",
      expires_in: 600,
    });
  });
}

/**
 * Asserts that this repository's deno.json lists a plugin under its own name,
 * resolving to its module, and, given a class, that `getAuthenticator` makes
 * an instance of it through that entry.
 */
export async function assertListedInRepo(
  name: string,
  store: StaticClientConfigStore,
  authenticatorClass?: abstract new (...args: never[]) => unknown,
): Promise<void> {
  const registry = new AuthenticatorRegistry();
  const options = { configFile: REPO_CONFIG_FILE, registry };
  const found = await resolveAuthMode(name, options);
  assert.ok(found.source === "config", `"${name}" is not from auth.plugins`);
  assert.equal(found.url, pluginUrl(name));
  if (authenticatorClass === undefined) return;
  const made = await getAuthenticator({ authMode: name }, store, options);
  assert.ok(made instanceof authenticatorClass);
}
