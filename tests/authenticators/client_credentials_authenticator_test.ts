import assert from "node:assert/strict";
import {
  type AuthContext,
  AuthError,
  type ClientConfig,
  ClientCredentialsAuthenticator,
  type ClientCredentialsAuthenticatorOptions,
  ConfigError,
  type FetchLike,
  MemoryCredentialStore,
  type PlatformConfig,
  StaticClientConfigStore,
  TokenRequestError,
} from "../../mod.ts";
import {
  type FakeOAuthServer,
  hang,
  serveFakeOAuth,
  tokenJson,
} from "../support/fake_oauth_server.ts";
import { type Idp, startIdp } from "../support/idp.ts";

const NOW = Date.UTC(2030, 0, 1);

function clientConfig(
  tokenEndpoint: string,
  extra: Partial<ClientConfig> = {},
): StaticClientConfigStore {
  return new StaticClientConfigStore({
    tokenEndpoint,
    authorizationEndpoint: tokenEndpoint.replace(/token$/, "auth"),
    redirectUri: "http://127.0.0.1/callback",
    clientId: "public-client",
    ...extra,
  });
}

/** A fetch that counts the requests it passes on. */
function countingFetch(): { fetch: FetchLike; count(): number } {
  let count = 0;
  return {
    fetch: (input, init) => (count++, fetch(input, init)),
    count: () => count,
  };
}

function context(overrides: Partial<AuthContext> = {}): Partial<AuthContext> {
  return { credentialStore: new MemoryCredentialStore(), ...overrides };
}

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AuthError) return error;
    throw error;
  }
  assert.fail("expected a rejection");
}

function isJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

Deno.test("ClientCredentialsAuthenticator against the test authorization server", async (t) => {
  await using idp = await startIdp();
  const confidential = (
    client: Idp["clients"]["confidential"],
    extra: PlatformConfig = {},
  ): PlatformConfig => ({
    endpoint: "flyte.example.com",
    clientId: client.clientId,
    clientCredentialsSecret: client.clientSecret,
    scopes: ["api:read"],
    ...extra,
  });

  await t.step(
    "getCredentials() gets a JWT access token with client_secret_basic",
    async () => {
      const before = await idp.tokenRequests();
      const authenticator = new ClientCredentialsAuthenticator(
        confidential(idp.clients.confidential),
        clientConfig(idp.tokenEndpoint),
        context(),
      );

      const credentials = await authenticator.getCredentials();

      assert.ok(isJwt(credentials.accessToken), "not a JWT");
      assert.ok(credentials.expiresAt! > Date.now() + 3000_000);
      assert.equal(await idp.tokenRequests(), before + 1);
    },
  );

  await t.step(
    "getCredentials() gets a token with client_secret_post and tokenUrl, never reading the client config",
    async () => {
      const store = {
        getClientConfig: () => Promise.reject(new Error("must not be read")),
      };
      const authenticator = new ClientCredentialsAuthenticator(
        confidential(idp.clients.confidentialPost, {
          tokenUrl: idp.tokenEndpoint,
        }),
        store,
        context(),
        { clientAuthentication: "client_secret_post" },
      );

      const credentials = await authenticator.getCredentials();

      assert.ok(isJwt(credentials.accessToken), "not a JWT");
      assert.equal(authenticator.headerKey, "authorization");
    },
  );

  await t.step(
    "100 concurrent getCredentials() cost one token request",
    async () => {
      const counting = countingFetch();
      const before = await idp.tokenRequests();
      const authenticator = new ClientCredentialsAuthenticator(
        confidential(idp.clients.confidential),
        clientConfig(idp.tokenEndpoint),
        context({ fetch: counting.fetch }),
      );

      const all = await Promise.all(
        Array.from({ length: 100 }, () => authenticator.getCredentials()),
      );

      assert.equal(new Set(all.map((c) => c.accessToken)).size, 1);
      assert.equal(counting.count(), 1);
      assert.equal(await idp.tokenRequests(), before + 1);
    },
  );

  await t.step(
    "a second authenticator sharing the credential store reuses the token",
    async () => {
      const credentialStore = new MemoryCredentialStore();
      const counting = countingFetch();
      const make = () =>
        new ClientCredentialsAuthenticator(
          confidential(idp.clients.confidential),
          clientConfig(idp.tokenEndpoint),
          { credentialStore, fetch: counting.fetch },
        );

      const first = await make().getCredentials();
      const second = await make().getCredentials();

      assert.ok(first.accessToken === second.accessToken, "not reused");
      assert.equal(counting.count(), 1);
    },
  );

  await t.step(
    "getCredentials() fails with invalid_client on a wrong secret, without showing it",
    async () => {
      const wrong = "wrong-secret-that-must-not-show";
      const authenticator = new ClientCredentialsAuthenticator(
        confidential({ ...idp.clients.confidential, clientSecret: wrong }),
        clientConfig(idp.tokenEndpoint),
        context(),
      );

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.deepEqual([error.status, error.error], [401, "invalid_client"]);
      assert.ok(!error.message.includes(wrong), "the secret was shown");
    },
  );

  await t.step(
    "4 processes started together on an empty file store cost one token request",
    async () => {
      const directory = await Deno.makeTempDir({ prefix: "sesame-cc-" });
      try {
        const before = await idp.tokenRequests();
        const hashes = await runTogether(4, directory, idp);

        assert.equal(await idp.tokenRequests() - before, 1);
        assert.equal(hashes.length, 4);
        assert.equal(new Set(hashes).size, 1, "they got different tokens");
      } finally {
        await Deno.remove(directory, { recursive: true });
      }
    },
  );
});

/**
 * Starts processes that each get a client-credentials token from a file
 * store in `directory`, releases them together once all are ready, and
 * returns what each printed: a hash of its token.
 */
async function runTogether(
  count: number,
  directory: string,
  idp: Idp,
): Promise<string[]> {
  const script = new URL(
    "../support/client_credentials_once.ts",
    import.meta.url,
  );
  const { clientId, clientSecret } = idp.clients.confidential;
  const children = Array.from(
    { length: count },
    () =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          script.pathname,
          directory,
          idp.tokenEndpoint,
          clientId,
        ],
        env: { SESAME_TEST_CLIENT_SECRET: clientSecret },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn(),
  );
  const readers = children.map((child) =>
    child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  );
  // The barrier: every process has built its authenticator before any asks.
  for (const reader of readers) {
    const { value } = await reader.read();
    assert.equal(value?.trim(), "ready");
  }
  const writers = children.map((child) => child.stdin.getWriter());
  await Promise.all(
    writers.map((writer) => writer.write(new TextEncoder().encode("go\n"))),
  );
  await Promise.all(writers.map((writer) => writer.close()));
  const outputs = await Promise.all(readers.map(async (reader) => {
    let text = "";
    for (
      let read = await reader.read();
      !read.done;
      read = await reader.read()
    ) {
      text += read.value;
    }
    return text.trim();
  }));
  const statuses = await Promise.all(children.map((child) => child.status));
  assert.ok(statuses.every((status) => status.success), "a process failed");
  return outputs;
}

Deno.test("ClientCredentialsAuthenticator", async (t) => {
  const make = (
    server: Pick<FakeOAuthServer, "tokenEndpoint">,
    config: PlatformConfig = {},
    options: ClientCredentialsAuthenticatorOptions = {},
    extra: Partial<ClientConfig> = {},
    ctx: Partial<AuthContext> = {},
  ) =>
    new ClientCredentialsAuthenticator(
      {
        clientId: "fake-client",
        clientCredentialsSecret: "fake-secret",
        ...config,
      },
      clientConfig(server.tokenEndpoint, extra),
      context({ now: () => NOW, ...ctx }),
      { sleep: () => Promise.resolve(), ...options },
    );

  await t.step(
    "constructor throws a ConfigError naming the setting when the secret is missing",
    () => {
      assert.throws(
        () =>
          new ClientCredentialsAuthenticator(
            { clientId: "x" },
            clientConfig("https://idp.example.com/token"),
          ),
        (error) =>
          error instanceof ConfigError && error.code === "CONFIG_INVALID" &&
          /no client secret is set; set clientCredentialsSecret/.test(
            error.message,
          ),
      );
      assert.throws(
        () =>
          new ClientCredentialsAuthenticator(
            { clientCredentialsSecret: "x" },
            clientConfig("https://idp.example.com/token"),
          ),
        (error) =>
          error instanceof ConfigError &&
          /no client id is set; set clientId/.test(error.message),
      );
    },
  );

  await t.step(
    "fetchCredentials() sends the client config's scopes and audience when the config has none",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({
          access_token: "fake",
          token_type: "Bearer",
          expires_in: 60,
        })
      );
      const authenticator = make(server, {}, {}, {
        scopes: ["all"],
        audience: "flyte",
      });

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.expiresAt, NOW + 60_000);
      assert.equal(server.requests[0]!.form.get("scope"), "all");
      assert.equal(server.requests[0]!.form.get("audience"), "flyte");
    },
  );

  await t.step(
    "fetchCredentials() prefers the config's scopes and audience",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({ access_token: "fake", token_type: "Bearer" })
      );
      const authenticator = make(
        server,
        { scopes: ["a", "b"], audience: "mine" },
        {},
        {
          scopes: ["all"],
          audience: "flyte",
        },
      );

      await authenticator.getCredentials();

      assert.equal(server.requests[0]!.form.get("scope"), "a b");
      assert.equal(server.requests[0]!.form.get("audience"), "mine");
    },
  );

  await t.step(
    "headerKey becomes the client config's after the first getCredentials()",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({ access_token: "fake", token_type: "Bearer" })
      );
      const authenticator = make(server, {}, {}, {
        headerKey: "flyte-authorization",
      });
      const explicit = make(server, { authorizationHeader: "x-token" }, {}, {
        headerKey: "flyte-authorization",
      });

      const before = authenticator.headerKey;
      await authenticator.getCredentials();
      await explicit.getCredentials();

      assert.equal(before, "authorization");
      assert.equal(authenticator.headerKey, "flyte-authorization");
      assert.equal(explicit.headerKey, "x-token");
    },
  );

  await t.step(
    "getCredentials() retries a 500 and returns the token that follows",
    async () => {
      await using server = serveFakeOAuth((_, index) =>
        index === 0
          ? new Response("down", { status: 500 })
          : tokenJson({ access_token: "fake-after-500", token_type: "Bearer" })
      );
      const events: string[] = [];
      const authenticator = make(server, {}, {}, {}, {
        onEvent: (event) => events.push(event.type),
      });

      const credentials = await authenticator.getCredentials();

      assert.equal(credentials.accessToken, "fake-after-500");
      assert.equal(server.requests.length, 2);
      assert.ok(events.includes("retry"));
    },
  );

  await t.step(
    "getCredentials() rejects an HTML page with a clear error",
    async () => {
      await using server = serveFakeOAuth(() =>
        new Response("<html><body>Sign in</body></html>", {
          headers: { "content-type": "text/html" },
        })
      );

      const error = await rejection(make(server).getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "TOKEN_REQUEST_FAILED");
      assert.match(
        error.message,
        /got an HTML page with status 200 instead of JSON/,
      );
    },
  );

  await t.step(
    "getCredentials() rejects a token response without access_token",
    async () => {
      await using server = serveFakeOAuth(() =>
        tokenJson({ token_type: "Bearer" })
      );

      const error = await rejection(make(server).getCredentials());

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "TOKEN_REQUEST_FAILED");
      assert.match(error.message, /got a response without an access_token/);
    },
  );

  await t.step(
    "getCredentials() times out on a hanging token endpoint",
    async () => {
      await using server = serveFakeOAuth((_, __, control) => hang(control));

      const error = await rejection(
        make(server, {}, { timeoutMs: 150 }).getCredentials(),
      );

      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.code, "TIMEOUT");
      assert.match(error.message, /timed out after 150 ms/);
    },
  );

  await t.step(
    "getCredentials() refuses a plain http token endpoint that is not loopback",
    async () => {
      let fetched = 0;
      const authenticator = make(
        { tokenEndpoint: "http://idp.example.com/token" },
        {},
        {},
        {},
        { fetch: () => (fetched++, Promise.resolve(new Response())) },
      );

      const error = await rejection(authenticator.getCredentials());

      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /over plain HTTP to "http:\/\/idp\.example\.com\/token"; use an https URL, or set insecure: true/,
      );
      assert.equal(fetched, 0);
    },
  );
});
