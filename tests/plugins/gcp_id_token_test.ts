import assert from "node:assert/strict";
import { decodeJwt, jwtVerify } from "jose";
import {
  AuthenticatorRegistry,
  ConfigError,
  getAuthenticator,
  type PlatformConfig,
  TokenRequestError,
} from "../../mod.ts";
import {
  GcpIdTokenAuthenticator,
  type GcpIdTokenOptions,
} from "../../plugins/gcp_id_token.ts";
import {
  assertListedInRepo,
  clientConfigStore,
  Clock,
  type FakeServer,
  fakeServer,
  oauthError,
  pluginProject,
  rsaKeys,
  signJwt,
  tempDir,
} from "../support/plugin_fakes.ts";

const CLIENT_EMAIL = "flyte-runner@sesame-test.iam.gserviceaccount.com";
const KEY_ID = "0123456789abcdef";
const AUDIENCE = "1234-abcd.apps.googleusercontent.com";
const USER = {
  client_id: "764086051850-gcloud.apps.googleusercontent.com",
  client_secret: "user-client-secret-value",
  refresh_token: "user-refresh-token-value",
};

const serviceAccountKeys = await rsaKeys();
const googleKeys = await rsaKeys();
const store = clientConfigStore(
  "https://idp.example.com/token",
  "client-id-aud",
);

/** A service account key file's text, as the Cloud console downloads it. */
function serviceAccountKey(
  tokenUri: string,
  privateKey = serviceAccountKeys.pkcs8,
): string {
  return JSON.stringify({
    type: "service_account",
    project_id: "sesame-test",
    private_key_id: KEY_ID,
    private_key: privateKey,
    client_email: CLIENT_EMAIL,
    client_id: "1234567890",
    token_uri: tokenUri,
  });
}

/**
 * Google's token endpoint: verifies the jwt-bearer assertion's signature and
 * claims with the service account's public key, or the authorized user's
 * refresh token, and answers an ID token it signs.
 */
class FakeGoogle implements AsyncDisposable {
  audiences: string[] = [];
  lastIdToken = "";
  readonly server: FakeServer;

  constructor(readonly clock: Clock) {
    this.server = fakeServer((request) => this.#answer(request));
  }

  get tokenUri(): string {
    return `${this.server.url}token`;
  }

  get requests(): number {
    return this.server.requests;
  }

  /** A service account key whose token_uri is this endpoint. */
  serviceAccount(privateKey = serviceAccountKeys.pkcs8): string {
    return serviceAccountKey(this.tokenUri, privateKey);
  }

  async #answer(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const grant = form.get("grant_type");
    const audience = grant === "refresh_token"
      ? this.#checkUser(form)
      : await this.#checkAssertion(form);
    if (audience instanceof Response) return audience;

    this.audiences.push(audience);
    this.lastIdToken = await signJwt(googleKeys, {
      iss: "https://accounts.google.com",
      aud: audience,
      sub: "111111111111111111111",
    }, this.clock.now());
    return Response.json({ id_token: this.lastIdToken });
  }

  async #checkAssertion(form: URLSearchParams): Promise<string | Response> {
    if (
      form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer"
    ) {
      return oauthError("unsupported_grant_type", "wrong grant_type");
    }
    try {
      const { payload, protectedHeader } = await jwtVerify(
        form.get("assertion") ?? "",
        serviceAccountKeys.publicKey,
        {
          algorithms: ["RS256"],
          issuer: CLIENT_EMAIL,
          subject: CLIENT_EMAIL,
          audience: this.tokenUri,
          currentDate: new Date(this.clock.now()),
          requiredClaims: ["iat", "exp", "target_audience"],
          maxTokenAge: "1h",
        },
      );
      if (protectedHeader.kid !== KEY_ID) {
        return oauthError("invalid_grant", "Invalid JWT Signature.");
      }
      return String(payload.target_audience);
    } catch {
      return oauthError("invalid_grant", "Invalid JWT Signature.");
    }
  }

  #checkUser(form: URLSearchParams): string | Response {
    for (const [name, value] of Object.entries(USER)) {
      if (form.get(name) !== value) {
        return oauthError("invalid_grant", `Bad ${name}.`);
      }
    }
    return USER.client_id;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server[Symbol.asyncDispose]();
  }
}

/** The metadata server of a Google Cloud machine. */
function fakeMetadataServer(clock: Clock, issued: string[]): FakeServer {
  return fakeServer(async (request) => {
    const url = new URL(request.url);
    const audience = url.searchParams.get("audience");
    const valid = request.headers.get("metadata-flavor") === "Google" &&
      url.pathname ===
        "/computeMetadata/v1/instance/service-accounts/default/identity" &&
      url.searchParams.get("format") === "full" && audience !== null;
    if (!valid) return new Response("bad request", { status: 400 });
    const token = await signJwt(googleKeys, {
      iss: "https://accounts.google.com",
      aud: audience,
    }, clock.now());
    issued.push(token);
    return new Response(token, {
      headers: { "metadata-flavor": "Google", "content-type": "text/html" },
    });
  });
}

function authenticator(
  options: GcpIdTokenOptions,
  config: PlatformConfig = {},
  clock = new Clock(),
): GcpIdTokenAuthenticator {
  return new GcpIdTokenAuthenticator(
    config,
    store,
    { now: clock.now },
    options,
  );
}

Deno.test("gcpIdToken() signs a JWT assertion the token endpoint accepts", async (t) => {
  const clock = new Clock();
  await using google = new FakeGoogle(clock);
  await using dir = await tempDir();
  const keyFile = await dir.write("sa.json", google.serviceAccount());

  await t.step(
    "from the credentialsFile option, for its audience",
    async () => {
      const made = authenticator(
        {
          credentialsFile: keyFile,
          audience: AUDIENCE,
          env: {},
        },
        {},
        clock,
      );
      const credentials = await made.getCredentials();
      assert.equal(credentials.accessToken, google.lastIdToken);
      assert.equal(credentials.idToken, google.lastIdToken);
      assert.equal(credentials.expiresAt, clock.now() + 3600_000);
    },
  );

  await t.step(
    "from GOOGLE_APPLICATION_CREDENTIALS, for the config's audience",
    async () => {
      const made = authenticator(
        {
          env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile },
        },
        { audience: "https://flyte.example.com" },
        clock,
      );
      await made.getCredentials();
      assert.equal(google.audiences.at(-1), "https://flyte.example.com");
    },
  );

  await t.step("for the client config's client id otherwise", async () => {
    await authenticator({ credentialsFile: keyFile }, {}, clock)
      .getCredentials();
    assert.equal(google.audiences.at(-1), "client-id-aud");
    assert.equal(google.requests, 3);
  });

  await t.step("a key the endpoint does not trust is refused", async () => {
    const other = await rsaKeys();
    const made = authenticator(
      {
        credentialsFile: await dir.write(
          "other.json",
          google.serviceAccount(other.pkcs8),
        ),
      },
      {},
      clock,
    );
    await assert.rejects(made.getCredentials(), (error: unknown) => {
      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.error, "invalid_grant");
      assert.match(
        error.message,
        /HTTP 400 "invalid_grant": Invalid JWT Signature/,
      );
      return true;
    });
  });
});

Deno.test("gcpIdToken() trades an authorized_user refresh token for an ID token", async (t) => {
  const clock = new Clock();
  await using google = new FakeGoogle(clock);
  await using dir = await tempDir();
  const user = { type: "authorized_user", ...USER };
  const userFile = await dir.write("user.json", JSON.stringify(user));

  await t.step("at the userTokenUrl option", async () => {
    const made = authenticator(
      {
        credentialsFile: userFile,
        userTokenUrl: google.tokenUri,
      },
      {},
      clock,
    );
    const credentials = await made.getCredentials();
    assert.equal(credentials.accessToken, google.lastIdToken);
    assert.equal(decodeJwt(credentials.accessToken).aud, USER.client_id);
  });

  await t.step(
    "at SESAME_GOOGLE_USER_TOKEN_URL, else the file's token_uri",
    async () => {
      await authenticator({
        env: {
          GOOGLE_APPLICATION_CREDENTIALS: userFile,
          SESAME_GOOGLE_USER_TOKEN_URL: google.tokenUri,
        },
      }).getCredentials();
      const withUri = await dir.write(
        "user-uri.json",
        JSON.stringify({ ...user, token_uri: google.tokenUri }),
      );
      await authenticator({ credentialsFile: withUri }).getCredentials();
      assert.equal(google.requests, 3);
    },
  );

  await t.step("a revoked refresh token is a TokenRequestError", async () => {
    const revoked = await dir.write(
      "revoked.json",
      JSON.stringify({ ...user, refresh_token: "revoked-value" }),
    );
    const made = authenticator({
      credentialsFile: revoked,
      userTokenUrl: google.tokenUri,
    });
    await assert.rejects(made.getCredentials(), (error: unknown) => {
      assert.ok(error instanceof TokenRequestError);
      assert.match(error.message, /"invalid_grant".*revoked\.json/);
      assert.ok(!error.message.includes("revoked-value"));
      return true;
    });
  });
});

Deno.test("gcpIdToken() finds gcloud's application default credentials file", async (t) => {
  const clock = new Clock();
  await using google = new FakeGoogle(clock);
  await using dir = await tempDir();
  const key = google.serviceAccount();

  await t.step("in $CLOUDSDK_CONFIG", async () => {
    await dir.write("sdk/application_default_credentials.json", key);
    const made = authenticator(
      {
        audience: AUDIENCE,
        env: { CLOUDSDK_CONFIG: dir.path("sdk"), HOME: dir.path("nohome") },
      },
      {},
      clock,
    );
    assert.equal((await made.getCredentials()).accessToken, google.lastIdToken);
  });

  await t.step({
    name: "in ~/.config/gcloud",
    ignore: Deno.build.os === "windows",
    fn: async () => {
      await dir.write(
        "home/.config/gcloud/application_default_credentials.json",
        key,
      );
      const made = authenticator(
        {
          audience: AUDIENCE,
          env: { HOME: dir.path("home") },
        },
        {},
        clock,
      );
      assert.equal(
        (await made.getCredentials()).accessToken,
        google.lastIdToken,
      );
      assert.equal(google.requests, 2);
    },
  });
});

Deno.test("gcpIdToken() asks the metadata server when there is no credentials file", async (t) => {
  const clock = new Clock();
  await using dir = await tempDir();
  const issued: string[] = [];
  await using metadata = fakeMetadataServer(clock, issued);
  const env = { GCE_METADATA_HOST: metadata.hostPort, HOME: dir.dir };

  await t.step("with Metadata-Flavor: Google, for the audience", async () => {
    const made = authenticator({ audience: AUDIENCE, env }, {}, clock);
    const credentials = await made.getCredentials();
    assert.equal(credentials.accessToken, issued[0]);
    assert.equal(decodeJwt(credentials.accessToken).aud, AUDIENCE);
    assert.equal(credentials.expiresAt, clock.now() + 3600_000);
  });

  await t.step(
    "a server that is not a metadata server is refused",
    async () => {
      await using impostor = fakeServer(() => new Response("a-page"));
      const made = authenticator({
        audience: AUDIENCE,
        env: { ...env, GCE_METADATA_HOST: impostor.hostPort },
      });
      await assert.rejects(made.getCredentials(), (error: unknown) => {
        assert.ok(error instanceof TokenRequestError);
        assert.match(error.message, /not a metadata server/);
        return true;
      });
    },
  );

  await t.step(
    "no metadata server means no credentials: a ConfigError",
    async () => {
      const closed = fakeServer(() => new Response());
      await closed[Symbol.asyncDispose]();
      const made = authenticator({
        audience: AUDIENCE,
        env: { ...env, GCE_METADATA_HOST: closed.hostPort },
      });
      await assert.rejects(made.getCredentials(), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /Cannot find Google credentials: GOOGLE_APPLICATION_CREDENTIALS is not set, ".*application_default_credentials\.json" does not exist, and no metadata server answered/,
        );
        return true;
      });
    },
  );

  await t.step(
    "a metadata server slower than the probe timeout is none",
    async () => {
      const release = Promise.withResolvers<void>();
      await using slow = fakeServer(async () => {
        await release.promise;
        return new Response("late");
      });
      const made = authenticator({
        audience: AUDIENCE,
        metadataProbeTimeoutMs: 100,
        env: { ...env, GCE_METADATA_HOST: slow.hostPort },
      });
      try {
        await assert.rejects(made.getCredentials(), (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.match(error.message, /within 100 ms/);
          return true;
        });
      } finally {
        release.resolve();
      }
    },
  );
});

Deno.test("gcpIdToken() reports a missing or malformed credentials file as a ConfigError naming the file, never the key", async (t) => {
  await using dir = await tempDir();
  const pem = serviceAccountKeys.pkcs8;
  const keyBody = pem.split("\n")[1]!;
  const valid = JSON.parse(
    serviceAccountKey("https://oauth2.googleapis.com/token"),
  );
  const cases: [string, string | undefined, RegExp][] = [
    [
      "a missing file",
      undefined,
      /file ".*missing\.json": no such file; fix GOOGLE_APPLICATION_CREDENTIALS/,
    ],
    [
      "a file that is not JSON",
      JSON.stringify(valid).slice(0, 400),
      /".*not-json\.json": it is not a JSON object/,
    ],
    [
      "a key without client_email",
      JSON.stringify({ ...valid, client_email: undefined }),
      /".*no-email\.json": it has no "client_email" for type "service_account"/,
    ],
    [
      "a private key that is not PKCS #8",
      JSON.stringify({
        ...valid,
        private_key: pem.replace(keyBody, keyBody.split("").reverse().join("")),
      }),
      /".*bad-key\.json": its "private_key" is not a PKCS #8 RSA private key/,
    ],
    [
      "an unsupported type",
      JSON.stringify({ type: "external_account" }),
      /".*external\.json": its type "external_account" is not supported/,
    ],
    [
      "a token_uri over plain http",
      JSON.stringify({
        ...valid,
        token_uri: "http://oauth2.example.com/token",
      }),
      /".*http\.json": its token_uri "http:\/\/oauth2\.example\.com\/token" is not an https URL/,
    ],
  ];
  const names = [
    "missing",
    "not-json",
    "no-email",
    "bad-key",
    "external",
    "http",
  ];
  for (const [index, [name, text, message]] of cases.entries()) {
    await t.step(name, async () => {
      const path = dir.path(`${names[index]}.json`);
      if (text !== undefined) await Deno.writeTextFile(path, text);
      const made = authenticator({
        audience: AUDIENCE,
        env: { GOOGLE_APPLICATION_CREDENTIALS: path },
      });
      await assert.rejects(made.getCredentials(), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        const shown = `${error.message} ${String(error.cause)}`;
        assert.ok(
          !shown.includes(keyBody.slice(0, 16)),
          "the key is not shown",
        );
        return true;
      });
    });
  }
});

Deno.test("gcpIdToken() reports token endpoint failures as a TokenRequestError", async (t) => {
  await using dir = await tempDir();
  const answers: Response[] = [];
  await using endpoint = fakeServer(() => answers.shift()!);
  const keyFile = await dir.write(
    "sa.json",
    serviceAccountKey(`${endpoint.url}token`),
  );
  const made = () =>
    authenticator({ credentialsFile: keyFile, audience: AUDIENCE });

  await t.step("an error status without JSON", async () => {
    answers.push(new Response("<html>oops</html>", { status: 502 }));
    await assert.rejects(made().getCredentials(), (error: unknown) => {
      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.status, 502);
      assert.match(
        error.message,
        /Cannot get a Google ID token at ".*\/token": the server answered HTTP 502; check that the service account/,
      );
      return true;
    });
  });

  await t.step("an answer without id_token", async () => {
    answers.push(Response.json({ access_token: "an-access-token" }));
    await assert.rejects(made().getCredentials(), (error: unknown) => {
      assert.ok(error instanceof TokenRequestError);
      assert.match(error.message, /the answer has no "id_token"/);
      assert.ok(!error.message.includes("an-access-token"));
      return true;
    });
  });
});

Deno.test("gcpIdToken() is discovered through auth.plugins, cached, and refreshed near exp", async (t) => {
  const clock = new Clock();
  await using google = new FakeGoogle(clock);
  await using dir = await tempDir();
  const keyFile = await dir.write("sa.json", google.serviceAccount());
  const configFile = await pluginProject(
    dir,
    "gcp",
    "gcp_id_token",
    "gcpIdToken",
    {
      credentialsFile: keyFile,
    },
  );
  const made = await getAuthenticator(
    { authMode: "GCP", audience: AUDIENCE },
    store,
    {
      configFile,
      registry: new AuthenticatorRegistry(),
      context: { now: clock.now },
    },
  );
  assert.ok(made instanceof GcpIdTokenAuthenticator);

  await t.step("cached: a second call makes no request", async () => {
    const first = await made.getCredentials();
    const second = await made.getCredentials();
    assert.equal(second, first);
    assert.equal(google.requests, 1);
    assert.deepEqual(google.audiences, [AUDIENCE]);
  });

  await t.step(
    "refreshed inside the last 10 s, with the key read only once",
    async () => {
      const before = google.lastIdToken;
      await Deno.remove(keyFile);
      clock.advance(3600_000 - 5_000);
      const current = await made.getCredentials();
      assert.equal(google.requests, 2);
      assert.notEqual(current.accessToken, before);
      assert.equal(current.expiresAt, clock.now() + 3600_000);
    },
  );

  await t.step("this repository's deno.json lists gcp_id_token", async () => {
    await assertListedInRepo("gcp_id_token", store, GcpIdTokenAuthenticator);
  });
});
