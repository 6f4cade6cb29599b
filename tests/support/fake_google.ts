/**
 * A fake of Google's token endpoint for service accounts, for the demo and
 * the benchmarks, built from the plugin tests' fakes: it verifies a service
 * account's jwt-bearer assertion with `jose` (signature, issuer, subject,
 * audience, `target_audience`) and answers an ID token it signs, counting
 * the token requests. It publishes its public key at `/jwks`, so that a
 * platform can verify the ID tokens.
 *
 * The assertion's audience may be this endpoint's own URL (what the
 * `gcp_id_token` plugin sends: the key file's `token_uri`) or Google's
 * token URLs (what google-auth-library always sends, whatever the key file
 * says), so that both libraries are measured against one endpoint.
 *
 * Requires `--allow-net`, and `--allow-write` for the key file.
 *
 * @module
 */

import { exportJWK, jwtVerify } from "jose";
import {
  type FakeServer,
  fakeServer,
  oauthError,
  type RsaKeys,
  rsaKeys,
  signJwt,
  tempDir,
} from "./plugin_fakes.ts";

/** The token URLs google-auth-library posts to, whatever the key says. */
export const GOOGLE_TOKEN_URLS: readonly string[] = [
  "https://oauth2.googleapis.com/token",
  "https://www.googleapis.com/oauth2/v4/token",
];

/** The `iss` of the ID tokens, as Google's. */
export const GOOGLE_ISSUER = "https://accounts.google.com";

/** The audience the benchmarks ask ID tokens for. */
export const AUDIENCE = "1234-bench.apps.googleusercontent.com";

const CLIENT_EMAIL = "flyte-bench@sesame-bench.iam.gserviceaccount.com";
const KEY_ID = "bench0123456789";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** The `kid` that plugin_fakes.ts's `signJwt` writes. */
const SIGNER_KEY_ID = "test-signer";

/** A running fake Google token endpoint and the key file that trusts it. */
export interface FakeGoogle extends AsyncDisposable {
  /** The token endpoint, the key file's `token_uri`. */
  tokenUri: string;
  /** Where the public key of the ID tokens is, as a JWK set. */
  jwksUri: string;
  /** A `service_account` key file whose `token_uri` is this endpoint. */
  keyFile: string;
  /** How many token requests it has answered with an ID token. */
  readonly issued: number;
  /** How many requests it has received, refused ones included. */
  readonly requests: number;
}

/** Options of {@linkcode startFakeGoogle}. */
export interface FakeGoogleOptions {
  /**
   * The lifetime of the ID tokens, in seconds.
   *
   * @default {3600}
   */
  lifetimeS?: number;
}

/**
 * Starts the fake on 127.0.0.1, port 0, and writes its key file in a
 * temporary folder; disposing it stops the server and removes the folder.
 *
 * @param options The ID tokens' lifetime.
 * @returns The running fake.
 */
export async function startFakeGoogle(
  options: FakeGoogleOptions = {},
): Promise<FakeGoogle> {
  const serviceAccount = await rsaKeys();
  const google = await rsaKeys();
  const lifetimeS = options.lifetimeS ?? 3600;
  let issued = 0;
  let tokenUri = "";
  const jwks = {
    keys: [{ ...await exportJWK(google.publicKey), kid: SIGNER_KEY_ID }],
  };
  const server: FakeServer = fakeServer(async function answerToken(request) {
    if (new URL(request.url).pathname === "/jwks") return Response.json(jwks);
    const form = new URLSearchParams(await request.text());
    const audience = await checkAssertion(form, serviceAccount, tokenUri);
    if (audience === undefined) {
      return oauthError("invalid_grant", "Invalid JWT Signature.");
    }
    issued++;
    const idToken = await signJwt(
      google,
      {
        iss: GOOGLE_ISSUER,
        aud: audience,
        sub: "111111111111111111111",
      },
      Date.now(),
      lifetimeS,
    );
    return Response.json({ id_token: idToken });
  });
  tokenUri = `${server.url}token`;
  const dir = await tempDir();
  const keyFile = await dir.write(
    "service_account.json",
    serviceAccountKey(serviceAccount, tokenUri),
  );
  return {
    tokenUri,
    jwksUri: `${server.url}jwks`,
    keyFile,
    get issued() {
      return issued;
    },
    get requests() {
      return server.requests;
    },
    async [Symbol.asyncDispose]() {
      await server[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Returns the assertion's `target_audience`, or `undefined` when refused. */
async function checkAssertion(
  form: URLSearchParams,
  keys: RsaKeys,
  tokenUri: string,
): Promise<string | undefined> {
  if (form.get("grant_type") !== JWT_BEARER) return undefined;
  try {
    const { payload } = await jwtVerify(
      form.get("assertion") ?? "",
      keys.publicKey,
      {
        algorithms: ["RS256"],
        issuer: CLIENT_EMAIL,
        audience: [tokenUri, ...GOOGLE_TOKEN_URLS],
        requiredClaims: ["iat", "exp", "target_audience"],
        maxTokenAge: "1h",
      },
    );
    // Google takes a missing `sub` as the issuer; google-auth-library sends none.
    const subject = payload.sub ?? CLIENT_EMAIL;
    return subject === CLIENT_EMAIL
      ? String(payload.target_audience)
      : undefined;
  } catch {
    return undefined;
  }
}

function serviceAccountKey(keys: RsaKeys, tokenUri: string): string {
  return JSON.stringify({
    type: "service_account",
    project_id: "sesame-bench",
    private_key_id: KEY_ID,
    private_key: keys.pkcs8,
    client_email: CLIENT_EMAIL,
    client_id: "1234567890",
    auth_uri: "https://accounts.google.com/o/oauth2/auth",
    token_uri: tokenUri,
  });
}
