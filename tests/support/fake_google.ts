/**
 * A fake of Google's OAuth token endpoint for service accounts, for the demo
 * and benchmarks: it verifies the jwt-bearer assertion's signature and
 * claims with the service account's public key before it answers with an ID
 * token that it signs itself, and it publishes its keys so that a platform
 * can verify those ID tokens.
 *
 * Requires `--allow-net`.
 *
 * @example
 * ```ts ignore
 * import { startFakeGoogle } from "./fake_google.ts";
 *
 * await using google = await startFakeGoogle();
 * await Deno.writeTextFile("key.json", google.serviceAccountKey);
 * ```
 *
 * @module
 */

import {
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from "jose";

const KEY_ID = "sesame-fake-google";
const SERVICE_ACCOUNT = "flyte-runner@sesame-demo.iam.gserviceaccount.com";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** A running fake Google token endpoint. */
export interface FakeGoogle extends AsyncDisposable {
  /** The `iss` of the ID tokens it signs: its base URL. */
  issuer: string;
  /** Its token endpoint, the `token_uri` of its service account key. */
  tokenUri: string;
  /** Where its public keys are, as a JWK set. */
  jwksUri: string;
  /** A service account key file's text whose `token_uri` is this endpoint. */
  serviceAccountKey: string;
  /** How many token requests it has answered. */
  readonly tokenRequests: number;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Options of {@linkcode startFakeGoogle}. */
export interface FakeGoogleOptions {
  /**
   * ID token lifetime, in seconds.
   *
   * @default {3600}
   */
  idTokenTtlSeconds?: number;
}

/**
 * Starts the fake on `127.0.0.1` with a port the system picks.
 *
 * @param options The ID token lifetime.
 * @returns The running fake.
 */
export async function startFakeGoogle(
  options: FakeGoogleOptions = {},
): Promise<FakeGoogle> {
  const ttl = options.idTokenTtlSeconds ?? 3600;
  const account = await generateKeyPair("RS256", { extractable: true });
  const signer = await generateKeyPair("RS256", { extractable: true });
  const jwks = {
    keys: [{
      ...await exportJWK(signer.publicKey),
      kid: KEY_ID,
      alg: "RS256",
      use: "sig",
    }],
  };
  let tokenRequests = 0;
  let issuer = "";

  async function answerToken(request: Request): Promise<Response> {
    tokenRequests++;
    const form = new URLSearchParams(await request.text());
    if (form.get("grant_type") !== JWT_BEARER) {
      return oauthError(
        "unsupported_grant_type",
        "expected the jwt-bearer grant",
      );
    }
    let audience: unknown;
    try {
      const { payload } = await jwtVerify(
        form.get("assertion") ?? "",
        account.publicKey,
        {
          issuer: SERVICE_ACCOUNT,
          subject: SERVICE_ACCOUNT,
          audience: `${issuer}/token`,
          algorithms: ["RS256"],
        },
      );
      audience = payload.target_audience;
    } catch {
      return oauthError("invalid_grant", "the assertion does not verify");
    }
    if (typeof audience !== "string" || audience === "") {
      return oauthError("invalid_request", "target_audience is missing");
    }
    const idToken = await new SignJWT({ email: SERVICE_ACCOUNT })
      .setProtectedHeader({ alg: "RS256", kid: KEY_ID })
      .setIssuer(issuer)
      .setSubject("111111111111111111111")
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`)
      .sign(signer.privateKey);
    return Response.json({ id_token: idToken });
  }

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    function handleFakeGoogle(request) {
      const { pathname } = new URL(request.url);
      if (request.method === "POST" && pathname === "/token") {
        return answerToken(request);
      }
      if (pathname === "/jwks") return Response.json(jwks);
      return new Response("Not found", { status: 404 });
    },
  );
  issuer = `http://127.0.0.1:${server.addr.port}`;
  const close = () => server.shutdown();
  return {
    issuer,
    tokenUri: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    serviceAccountKey: JSON.stringify({
      type: "service_account",
      project_id: "sesame-demo",
      private_key_id: "0123456789abcdef",
      private_key: await exportPKCS8(account.privateKey),
      client_email: SERVICE_ACCOUNT,
      client_id: "1234567890",
      token_uri: `${issuer}/token`,
    }),
    get tokenRequests() {
      return tokenRequests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function oauthError(error: string, description: string): Response {
  return Response.json({ error, error_description: description }, {
    status: 400,
  });
}
