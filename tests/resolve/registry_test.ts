import assert from "node:assert/strict";
import {
  type Authenticator,
  type AuthenticatorPlugin,
  AuthenticatorRegistry,
  registerAuthenticatorPlugin,
  registry,
} from "../../mod.ts";

const plugin: AuthenticatorPlugin = (): Authenticator => ({
  headerKey: "authorization",
  getCredentials: () => Promise.resolve({ accessToken: "t" }),
  refreshCredentials: () => Promise.resolve({ accessToken: "t" }),
});

Deno.test("AuthenticatorRegistry keeps names lower-case and finds them in any case", () => {
  const plugins = new AuthenticatorRegistry();
  plugins.register("GcpIdToken", plugin);

  assert.deepEqual(plugins.names(), ["gcpidtoken"]);
  assert.equal(plugins.get("GCPIDTOKEN"), plugin);
  assert.ok(plugins.has("gcpidtoken"));
});

Deno.test("register() replaces an earlier plugin of the same name", () => {
  const plugins = new AuthenticatorRegistry();
  const second: AuthenticatorPlugin = (...args) =>
    (plugin as (...a: unknown[]) => Authenticator)(...args);
  plugins.register("corp", plugin);
  plugins.register("CORP", second);

  assert.equal(plugins.get("corp"), second);
  assert.deepEqual(plugins.names(), ["corp"]);
});

Deno.test("register() throws TypeError for built-in names, empty names and non-functions", async (t) => {
  const plugins = new AuthenticatorRegistry();
  for (const name of ["Pkce", "standard", "ClientSecret", "deviceflow"]) {
    await t.step(`built-in "${name}"`, () => {
      assert.throws(() => plugins.register(name, plugin), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /built-in mode name/);
        return true;
      });
    });
  }
  await t.step("empty and blank names", () => {
    assert.throws(() => plugins.register("", plugin), /non-empty string/);
    assert.throws(() => plugins.register("  ", plugin), /non-empty string/);
  });
  await t.step("a plugin that is not a function", () => {
    const notAPlugin = { create: plugin } as unknown as AuthenticatorPlugin;
    assert.throws(
      () => plugins.register("corp", notAPlugin),
      /expected a factory function or a class, got object/,
    );
  });
  assert.deepEqual(plugins.names(), []);
});

Deno.test("unregister() removes a plugin and says whether it was there", () => {
  const plugins = new AuthenticatorRegistry();
  plugins.register("corp", plugin);

  assert.equal(plugins.unregister("CORP"), true);
  assert.equal(plugins.unregister("corp"), false);
  assert.equal(plugins.get("corp"), undefined);
});

Deno.test("registerAuthenticatorPlugin() registers on the process-wide registry", () => {
  registerAuthenticatorPlugin("Test-Global", plugin);
  try {
    assert.equal(registry.get("test-global"), plugin);
  } finally {
    registry.unregister("test-global");
  }
  assert.equal(registry.has("test-global"), false);
});
