import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import {
  AuthenticatorRegistry,
  ConfigError,
  getAuthenticator,
  type PlatformConfig,
  TokenRequestError,
} from "../../mod.ts";
import {
  GithubActionsOidcAuthenticator,
  type GithubActionsOidcOptions,
} from "../../plugins/github_actions_oidc.ts";
import {
  assertListedInRepo,
  clientConfigStore,
  Clock,
  type FakeServer,
  fakeServer,
  fakeTokenExchange,
  pluginProject,
  rsaKeys,
  signJwt,
  tempDir,
} from "../support/plugin_fakes.ts";

const REQUEST_TOKEN = "actions-request-token-value";
const store = clientConfigStore();
const keys = await rsaKeys();

/** The Actions token service: checks the bearer, signs a JWT for the audience. */
class FakeActions implements AsyncDisposable {
  audiences: (string | null)[] = [];
  lastToken = "";
  readonly server: FakeServer;

  constructor(readonly clock: Clock) {
    this.server = fakeServer((request) => this.#answer(request));
  }

  get requests(): number {
    return this.server.requests;
  }

  /** The environment GitHub sets in a job with id-token: write. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${this.server.url}token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      ...extra,
    };
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get("authorization") !== `Bearer ${REQUEST_TOKEN}`) {
      return Response.json({ message: "Bad credentials" }, { status: 401 });
    }
    if (url.searchParams.get("api-version") !== "2.0") {
      return Response.json({ message: "no api-version" }, { status: 400 });
    }
    const audience = url.searchParams.get("audience");
    this.audiences.push(audience);
    this.lastToken = await signJwt(
      keys,
      {
        iss: "https://token.actions.githubusercontent.com",
        sub: "repo:sesame/auth:ref:refs/heads/main",
        aud: audience ?? "https://github.com/sesame",
      },
      this.clock.now(),
      300,
    );
    return Response.json({ count: 1, value: this.lastToken });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.server[Symbol.asyncDispose]();
  }
}

function authenticator(
  options: GithubActionsOidcOptions,
  config: PlatformConfig = {},
  clock = new Clock(),
  clientStore = store,
): GithubActionsOidcAuthenticator {
  return new GithubActionsOidcAuthenticator(config, clientStore, {
    now: clock.now,
  }, options);
}

Deno.test("githubActionsOidc() sends the request token and audience, and uses the OIDC token", async (t) => {
  const clock = new Clock();
  await using actions = new FakeActions(clock);

  await t.step("for the audience option, with the token's exp", async () => {
    const made = authenticator(
      {
        audience: "https://flyte.example.com",
        env: actions.env(),
      },
      {},
      clock,
    );
    const credentials = await made.getCredentials();
    assert.equal(credentials.accessToken, actions.lastToken);
    assert.equal(credentials.expiresAt, clock.now() + 300_000);
    assert.deepEqual(actions.audiences, ["https://flyte.example.com"]);
  });

  await t.step("for the config's audience, else GitHub's default", async () => {
    await authenticator({ env: actions.env() }, { audience: "flyte" })
      .getCredentials();
    await authenticator({ env: actions.env() }).getCredentials();
    assert.deepEqual(actions.audiences.slice(1), ["flyte", null]);
  });
});

Deno.test("githubActionsOidc() exchanges the OIDC token at the token endpoint when asked", async (t) => {
  const clock = new Clock();
  await using actions = new FakeActions(clock);
  await using endpoint = fakeTokenExchange({
    clientId: "flyte-ci",
    subjectToken: () => actions.lastToken,
  });
  const tokenUrl = new URL("oauth2/token", endpoint.url).href;

  await t.step(
    "with the exchange option and the config's tokenUrl",
    async () => {
      const made = authenticator({ exchange: true, env: actions.env() }, {
        tokenUrl,
        clientId: "flyte-ci",
      }, clock);
      const credentials = await made.getCredentials();
      assert.equal(credentials.accessToken, "exchanged-1");
      assert.equal(credentials.expiresAt, clock.now() + 600_000);
    },
  );

  await t.step(
    "with SESAME_TOKEN_EXCHANGE=1 and the client config's endpoint",
    async () => {
      const made = authenticator(
        { env: actions.env({ SESAME_TOKEN_EXCHANGE: "1" }) },
        {},
        clock,
        clientConfigStore(tokenUrl, "flyte-ci"),
      );
      assert.equal((await made.getCredentials()).accessToken, "exchanged-2");
      assert.equal(endpoint.requests, 2);
    },
  );

  await t.step("without a token endpoint it is a ConfigError", async () => {
    const made = new GithubActionsOidcAuthenticator(
      { clientId: "flyte-ci" },
      undefined,
      { now: clock.now },
      { exchange: true, env: actions.env() },
    );
    await assert.rejects(made.getCredentials(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /no token endpoint is known; set tokenUrl/);
      return true;
    });
  });
});

Deno.test("githubActionsOidc() reports missing variables as a ConfigError asking for id-token: write", async (t) => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "both missing",
      {},
      /ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set; .*"permissions: id-token: write"/,
    ],
    [
      "the request token missing",
      { ACTIONS_ID_TOKEN_REQUEST_URL: "https://example.com/token" },
      /: ACTIONS_ID_TOKEN_REQUEST_TOKEN is not set; .*id-token: write/,
    ],
    [
      "a plain http request URL",
      {
        ACTIONS_ID_TOKEN_REQUEST_URL: "http://example.com/token",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      },
      /"http:\/\/example\.com\/token" is not an https URL/,
    ],
  ];
  for (const [name, env, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(
        authenticator({ env }).getCredentials(),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.equal(error.code, "CONFIG_INVALID");
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

Deno.test("githubActionsOidc() reports HTTP failures as a TokenRequestError", async (t) => {
  const clock = new Clock();
  await using actions = new FakeActions(clock);

  await t.step("a rejected request token, never quoted", async () => {
    const env = actions.env({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong-value" });
    await assert.rejects(
      authenticator({ env }).getCredentials(),
      (error: unknown) => {
        assert.ok(error instanceof TokenRequestError);
        assert.equal(error.status, 401);
        assert.match(error.message, /OIDC token at ".*\/token": .*HTTP 401/);
        assert.ok(!error.message.includes("wrong-value"));
        return true;
      },
    );
  });

  await t.step("an answer without a value", async () => {
    await using empty = fakeServer(() => Response.json({ count: 0 }));
    const env = actions.env({
      ACTIONS_ID_TOKEN_REQUEST_URL: `${empty.url}token`,
    });
    await assert.rejects(
      authenticator({ env }).getCredentials(),
      (error: unknown) => {
        assert.ok(error instanceof TokenRequestError);
        assert.match(error.message, /the answer has no "value"/);
        return true;
      },
    );
  });

  await t.step("no server listening", async () => {
    const closed = fakeServer(() => new Response());
    const env = actions.env({
      ACTIONS_ID_TOKEN_REQUEST_URL: `${closed.url}token`,
    });
    await closed[Symbol.asyncDispose]();
    await assert.rejects(
      authenticator({ env }).getCredentials(),
      (error: unknown) => {
        assert.ok(error instanceof TokenRequestError);
        assert.equal(error.code, "TOKEN_REQUEST_FAILED");
        assert.match(error.message, /the request failed/);
        return true;
      },
    );
  });
});

Deno.test("githubActionsOidc() is discovered through auth.plugins, cached, and refreshed near exp", async (t) => {
  const clock = new Clock();
  await using actions = new FakeActions(clock);
  await using dir = await tempDir();
  const configFile = await pluginProject(
    dir,
    "github",
    "github_actions_oidc",
    "githubActionsOidc",
    { env: actions.env() },
  );
  const made = await getAuthenticator(
    { authMode: "GitHub", audience: "flyte" },
    store,
    {
      configFile,
      registry: new AuthenticatorRegistry(),
      context: { now: clock.now },
    },
  );
  assert.ok(made instanceof GithubActionsOidcAuthenticator);

  await t.step("cached: a second call makes no request", async () => {
    const first = await made.getCredentials();
    const second = await made.getCredentials();
    assert.equal(second, first);
    assert.equal(actions.requests, 1);
    assert.equal(decodeJwt(first.accessToken).aud, "flyte");
  });

  await t.step("refreshed inside the last 10 s before exp", async () => {
    const before = actions.lastToken;
    clock.advance(300_000 - 5_000);
    const current = await made.getCredentials();
    assert.equal(actions.requests, 2);
    assert.notEqual(current.accessToken, before);
  });

  await t.step(
    "this repository's deno.json lists github_actions_oidc",
    async () => {
      await assertListedInRepo(
        "github_actions_oidc",
        store,
        GithubActionsOidcAuthenticator,
      );
    },
  );
});
