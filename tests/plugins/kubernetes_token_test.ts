import assert from "node:assert/strict";
import {
  AuthenticatorRegistry,
  ConfigError,
  getAuthenticator,
  TokenRequestError,
} from "../../mod.ts";
import {
  KubernetesTokenAuthenticator,
  type KubernetesTokenOptions,
} from "../../plugins/kubernetes_token.ts";
import {
  assertListedInRepo,
  clientConfigStore,
  Clock,
  fakeTokenExchange,
  pluginProject,
  rsaKeys,
  signJwt,
  tempDir,
} from "../support/plugin_fakes.ts";

const DEFAULT_TOKEN_FILE =
  "/var/run/secrets/kubernetes.io/serviceaccount/token";
const store = clientConfigStore();
const keys = await rsaKeys();

function authenticator(
  options: KubernetesTokenOptions,
  config = {},
  clock = new Clock(),
  clientStore = store,
): KubernetesTokenAuthenticator {
  return new KubernetesTokenAuthenticator(config, clientStore, {
    now: clock.now,
  }, options);
}

function serviceAccountToken(now: number): Promise<string> {
  return signJwt(keys, {
    iss: "https://kubernetes.default.svc",
    sub: "system:serviceaccount:flyte:runner",
    aud: "flyte",
  }, now);
}

Deno.test("kubernetesToken() sends the projected token with its exp", async (t) => {
  await using dir = await tempDir();
  const clock = new Clock();
  const token = await serviceAccountToken(clock.now());
  const file = await dir.write("token", `${token}\n`);

  await t.step("from the tokenFile option", async () => {
    const credentials = await authenticator(
      { tokenFile: file, env: {} },
      {},
      clock,
    )
      .getCredentials();
    assert.equal(credentials.accessToken, token);
    assert.equal(credentials.expiresAt, clock.now() + 3600_000);
  });

  await t.step("from SESAME_KUBERNETES_TOKEN_FILE", async () => {
    const made = authenticator({
      env: { SESAME_KUBERNETES_TOKEN_FILE: file },
    });
    assert.equal((await made.getCredentials()).accessToken, token);
  });
});

Deno.test("kubernetesToken() exchanges the token at the token endpoint when asked", async (t) => {
  await using dir = await tempDir();
  const clock = new Clock();
  const token = await serviceAccountToken(clock.now());
  const file = await dir.write("token", token);
  await using endpoint = fakeTokenExchange({
    clientId: "flyte-workload",
    subjectToken: () => token,
  });

  await t.step("at the config's tokenUrl, as its clientId", async () => {
    const made = authenticator({ tokenFile: file, exchange: true }, {
      tokenUrl: new URL("token", endpoint.url).href,
      clientId: "flyte-workload",
    }, clock);
    const credentials = await made.getCredentials();
    assert.equal(credentials.accessToken, "exchanged-1");
    assert.equal(credentials.expiresAt, clock.now() + 600_000);
  });

  await t.step(
    "at the client config's endpoint, when SESAME_TOKEN_EXCHANGE is true",
    async () => {
      const made = authenticator(
        { tokenFile: file, env: { SESAME_TOKEN_EXCHANGE: "true" } },
        {},
        clock,
        clientConfigStore(
          new URL("token", endpoint.url).href,
          "flyte-workload",
        ),
      );
      assert.equal((await made.getCredentials()).accessToken, "exchanged-2");
      assert.equal(endpoint.requests, 2);
    },
  );

  await t.step("a refused exchange is a TokenRequestError", async () => {
    const made = authenticator({ tokenFile: file, exchange: true }, {
      tokenUrl: new URL("token", endpoint.url).href,
      clientId: "someone-else",
    }, clock);
    await assert.rejects(made.getCredentials(), (error: unknown) => {
      assert.ok(error instanceof TokenRequestError);
      assert.equal(error.status, 400);
      assert.match(
        error.message,
        /exchange the workload token.*"invalid_request"/,
      );
      assert.ok(!error.message.includes(token));
      return true;
    });
  });
});

Deno.test("kubernetesToken() reports a missing or empty token file as a ConfigError naming it", async (t) => {
  await using dir = await tempDir();

  const cases: [string, KubernetesTokenOptions, RegExp][] = [
    [
      "the default file, outside a pod",
      { env: {} },
      /"\/var\/run\/secrets\/kubernetes\.io\/serviceaccount\/token": no such file; run in a pod/,
    ],
    [
      "an empty file",
      { tokenFile: await dir.write("empty", "") },
      /file ".*empty": it is empty/,
    ],
    [
      "a bad SESAME_TOKEN_EXCHANGE",
      {
        tokenFile: await dir.write("token", "t"),
        env: { SESAME_TOKEN_EXCHANGE: "maybe" },
      },
      /"SESAME_TOKEN_EXCHANGE": "maybe" is not a yes or no/,
    ],
  ];
  const inPod = await Deno.stat(DEFAULT_TOKEN_FILE).then(
    () => true,
    () => false,
  );
  for (const [name, options, message] of cases) {
    const ignore = inPod && options.tokenFile === undefined;
    await t.step({
      name,
      ignore,
      fn: async () => {
        await assert.rejects(
          authenticator(options).getCredentials(),
          (error) => {
            assert.ok(error instanceof ConfigError);
            assert.equal(error.code, "CONFIG_INVALID");
            assert.match(error.message, message);
            return true;
          },
        );
      },
    });
  }
});

Deno.test("kubernetesToken() is discovered through auth.plugins, cached, and re-read near its exp", async (t) => {
  await using dir = await tempDir();
  const clock = new Clock();
  const first = await serviceAccountToken(clock.now());
  const file = await dir.write("token", first);
  const configFile = await pluginProject(
    dir,
    "k8s",
    "kubernetes_token",
    "kubernetesToken",
    { tokenFile: file },
  );
  let rotatedAt = 0;
  const made = await getAuthenticator({ authMode: "k8s" }, store, {
    configFile,
    registry: new AuthenticatorRegistry(),
    context: { now: clock.now },
  });
  assert.ok(made instanceof KubernetesTokenAuthenticator);

  await t.step(
    "cached: the rotated file is not read before it must be",
    async () => {
      assert.equal((await made.getCredentials()).accessToken, first);
      // The kubelet rotates the token at 80% of its life.
      clock.advance(2880_000);
      rotatedAt = clock.now();
      await Deno.writeTextFile(file, await serviceAccountToken(rotatedAt));
      assert.equal((await made.getCredentials()).accessToken, first);
    },
  );

  await t.step("re-read inside the last 10 s before exp", async () => {
    clock.advance(3600_000 - 2880_000 - 5_000);
    const current = await made.getCredentials();
    assert.notEqual(current.accessToken, first);
    assert.equal(current.expiresAt, rotatedAt + 3600_000);
  });

  await t.step(
    "this repository's deno.json lists kubernetes_token",
    async () => {
      await assertListedInRepo(
        "kubernetes_token",
        store,
        KubernetesTokenAuthenticator,
      );
    },
  );
});
