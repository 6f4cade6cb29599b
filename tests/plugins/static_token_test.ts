import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AuthenticatorRegistry,
  ConfigError,
  getAuthenticator,
  resolveAuthMode,
} from "../../mod.ts";
import {
  staticToken,
  StaticTokenAuthenticator,
} from "../../plugins/static_token.ts";
import {
  assertListedInRepo,
  clientConfigStore,
  Clock,
  pluginProject,
  REPO_CONFIG_FILE,
  rsaKeys,
  signJwt,
  tempDir,
} from "../support/plugin_fakes.ts";

const store = clientConfigStore();

function authenticator(
  options: ConstructorParameters<typeof StaticTokenAuthenticator>[3],
  config = {},
): StaticTokenAuthenticator {
  return new StaticTokenAuthenticator(config, store, {}, options);
}

Deno.test("staticToken() reads SESAME_TOKEN, or the variable it is given", async (t) => {
  await t.step("SESAME_TOKEN by default", async () => {
    const made = authenticator({ env: { SESAME_TOKEN: "env-token" } });
    assert.equal((await made.getCredentials()).accessToken, "env-token");
    assert.equal(made.headerKey, "authorization");
  });

  await t.step("a given variable, ignoring SESAME_TOKEN_FILE", async () => {
    const made = authenticator({
      variable: "CI_TOKEN",
      env: { CI_TOKEN: " ci-token\n", SESAME_TOKEN_FILE: "/nonexistent" },
    });
    assert.equal((await made.getCredentials()).accessToken, "ci-token");
  });

  await t.step("in the config's authorizationHeader", () => {
    const made = authenticator({ env: {} }, {
      authorizationHeader: "flyte-authorization",
    });
    assert.equal(made.headerKey, "flyte-authorization");
  });
});

Deno.test("staticToken() reads a token file, and SESAME_TOKEN_FILE wins over SESAME_TOKEN", async (t) => {
  await using dir = await tempDir();
  const file = await dir.write("token", "file-token\n");

  await t.step("the file option", async () => {
    const made = authenticator({ file, env: {} });
    assert.equal((await made.getCredentials()).accessToken, "file-token");
  });

  await t.step("SESAME_TOKEN_FILE", async () => {
    const made = authenticator({
      env: { SESAME_TOKEN_FILE: file, SESAME_TOKEN: "env-token" },
    });
    assert.equal((await made.getCredentials()).accessToken, "file-token");
  });
});

Deno.test("staticToken() keeps the token until a 401, then reads the source again", async () => {
  await using dir = await tempDir();
  const file = await dir.write("token", "first");
  const made = authenticator({ file });

  const first = await made.getCredentials();
  await dir.write("token", "second");
  const cached = await made.getCredentials();
  const refreshed = await made.refreshCredentials({ rejected: first });

  assert.equal(cached.accessToken, "first");
  assert.equal(refreshed.accessToken, "second");
  assert.equal(first.expiresAt, undefined);
});

Deno.test("staticToken() reports a missing or unusable source as a ConfigError naming it", async (t) => {
  await using dir = await tempDir();

  const cases: [string, Parameters<typeof authenticator>[0], RegExp][] = [
    [
      "an unset variable",
      { env: {} },
      /"SESAME_TOKEN": it is not set; set it, or set SESAME_TOKEN_FILE/,
    ],
    [
      "a missing file",
      { file: dir.path("nope") },
      /the token file ".*nope": no such file/,
    ],
    [
      "an empty file",
      { file: await dir.write("empty", "\n") },
      /the token file ".*empty": it is empty/,
    ],
    [
      "a value of two words",
      { env: { SESAME_TOKEN: "Bearer s3cr3t-value" } },
      /"SESAME_TOKEN": it holds more than one word/,
    ],
  ];
  for (const [name, options, message] of cases) {
    await t.step(name, async () => {
      const error = await authenticator(options).getCredentials().then(
        () => assert.fail("expected a ConfigError"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, "CONFIG_INVALID");
      assert.match(error.message, message);
      assert.doesNotMatch(error.message, /s3cr3t/);
    });
  }

  await t.step("a wrong option type is a TypeError", () => {
    assert.throws(
      () => staticToken({ file: 3 as unknown as string }),
      TypeError,
    );
  });
});

Deno.test("staticToken() is discovered through auth.plugins, cached, and read again near its exp", async (t) => {
  await using dir = await tempDir();
  const keys = await rsaKeys();
  const clock = new Clock();
  const first = await signJwt(keys, { sub: "ci" }, clock.now());
  const file = await dir.write("token", first);
  const configFile = await pluginProject(
    dir,
    "ci",
    "static_token",
    "staticToken",
    { file },
  );
  const made = await getAuthenticator({ authMode: "CI" }, store, {
    configFile,
    registry: new AuthenticatorRegistry(),
    context: { now: clock.now },
  });

  await t.step("found in the config file", async () => {
    const found = await resolveAuthMode("ci", { configFile });
    assert.equal(found.source, "config");
    assert.ok(made instanceof StaticTokenAuthenticator);
  });

  await t.step("cached: a rewritten file is not read again", async () => {
    assert.equal((await made.getCredentials()).accessToken, first);
    const second = await signJwt(keys, { sub: "ci" }, clock.now() + 60_000);
    await Deno.writeTextFile(file, second);
    assert.equal((await made.getCredentials()).accessToken, first);
  });

  await t.step("read again inside the last 10 s before exp", async () => {
    clock.advance(3600_000 - 5_000);
    const current = await made.getCredentials();
    assert.notEqual(current.accessToken, first);
    assert.equal(current.expiresAt, clock.now() + 65_000);
  });

  await t.step("this repository's deno.json lists static_token", async () => {
    await assertListedInRepo("static_token", store, StaticTokenAuthenticator);
  });
});

Deno.test("static_token's default export reads SESAME_TOKEN_FILE in a project that lists it", async () => {
  await using dir = await tempDir();
  const file = await dir.write("token", "from-the-environment\n");
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    const { getAuthenticator, StaticClientConfigStore } = await import(${
    JSON.stringify(mod)
  });
    const made = await getAuthenticator({ authMode: "Static_Token" },
      new StaticClientConfigStore(${
    JSON.stringify(await store.getClientConfig())
  }));
    const { accessToken } = await made.getCredentials();
    console.log(JSON.stringify({ type: made.constructor.name, accessToken }));`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", REPO_CONFIG_FILE, script],
    cwd: join(REPO_CONFIG_FILE, ".."),
    env: { SESAME_TOKEN_FILE: file, SESAME_TOKEN: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();

  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
    type: "StaticTokenAuthenticator",
    accessToken: "from-the-environment",
  });
});
